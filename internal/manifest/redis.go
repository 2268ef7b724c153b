package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

const (
	// DefaultRedisName is the default name of the Redis Service and Deployment.
	DefaultRedisName = "redis"
	// DefaultRedisImage is the Redis image 'init' deploys by default.
	DefaultRedisImage = "docker.io/library/redis:7.4.2"
	// RedisPort is the port Redis listens on, and the Service's port (named "redis").
	RedisPort = 6379
	// RedisUID is the uid (and gid) of the redis user in the official image.
	RedisUID = 999

	// LabelName and LabelInstance select the Redis pods.
	LabelName     = "app.kubernetes.io/name"
	LabelInstance = "app.kubernetes.io/instance"

	// DefaultRedisMemory is the Redis container's memory limit unless --memory
	// says otherwise.
	DefaultRedisMemory = "512Mi"
	// RedisConfigKey is the key of the password Secret that holds Redis'
	// configuration file with the password (requirepass), so that the
	// password is in no process' arguments or environment.
	RedisConfigKey = "redis.conf"
	// RedisConfigFile is where the Redis container reads that file.
	RedisConfigFile = redisConfigDir + "/" + RedisConfigKey
	// MaxMemoryPercent is Redis' maxmemory as a share of the container's
	// memory limit: a full Redis refuses writes (noeviction) before the
	// kernel kills it, which, with persistence, would replay its append-only
	// file into the same kill at every restart.
	MaxMemoryPercent = 80
	// RedisDataVolume is the pod's volume that holds Redis' data.
	RedisDataVolume = "data"

	redisContainer    = "redis"
	redisPortName     = "redis"
	redisDataDir      = "/data"
	redisTLSVolume    = "tls"
	redisTLSDir       = "/tls"
	redisConfigVolume = "config"
	redisConfigDir    = "/etc/redis-auth"
)

// RedisOptions describe the Redis that 'kubectl workqueue init' deploys.
type RedisOptions struct {
	// Namespace of all objects; "" leaves it unset.
	Namespace string
	// Name of the Service and the Deployment; default DefaultRedisName.
	Name string
	// Image; default DefaultRedisImage.
	Image string
	// Password Redis requires; "" runs Redis without authentication (--no-auth).
	Password string
	// Storage is "" for an emptyDir (data lost with the pod), else the size of a
	// PersistentVolumeClaim, e.g. "1Gi".
	Storage string
	// StorageClass of the claim; "" is the cluster's default. Needs Storage.
	StorageClass string
	// Memory is the container's memory limit; default DefaultRedisMemory.
	// Redis' maxmemory is MaxMemoryPercent of it.
	Memory string
	// Labels are added to every object.
	Labels map[string]string
	// TLS makes Redis speak only TLS, with this certificate; nil: plain TCP.
	TLS *RedisTLS
	// Appendfsync is when Redis flushes its append-only file to disk:
	// "everysec" (the default) or "always", before it answers each write.
	Appendfsync string
}

// Appendfsync policies init offers. Redis' "no" (the kernel flushes when it
// likes) is not one: a node crash could then lose far more than a second.
const (
	FsyncEverySec = "everysec"
	FsyncAlways   = "always"
)

// RedisTLS is the certificate of a Redis that speaks TLS: the server's
// certificate and key, and the CA certificate clients trust. The CA's key
// is not kept: nothing else is ever signed with it.
type RedisTLS struct {
	CACert, Cert, Key []byte
}

// RedisObjects are the objects of one Redis deployment. Secret is nil without a
// password, PVC nil with emptyDir storage, TLSSecret and CASecret nil without
// TLS.
type RedisObjects struct {
	Secret *corev1.Secret
	// TLSSecret is the server's certificate and key (and the CA's
	// certificate), mounted by Redis alone; CASecret holds only the CA's
	// certificate, for the commands and the workers.
	TLSSecret  *corev1.Secret
	CASecret   *corev1.Secret
	PVC        *corev1.PersistentVolumeClaim
	Service    *corev1.Service
	Deployment *appsv1.Deployment
}

// Objects returns the non-nil objects in the order to apply them: the
// Secrets, PVC, Service, Deployment.
func (r *RedisObjects) Objects() []runtime.Object {
	var objs []runtime.Object
	for _, s := range []*corev1.Secret{r.Secret, r.TLSSecret, r.CASecret} {
		if s != nil {
			objs = append(objs, s)
		}
	}
	if r.PVC != nil {
		objs = append(objs, r.PVC)
	}
	if r.Service != nil {
		objs = append(objs, r.Service)
	}
	if r.Deployment != nil {
		objs = append(objs, r.Deployment)
	}
	return objs
}

// RedisDataClaimName is the PersistentVolumeClaim of the Redis named name.
func RedisDataClaimName(name string) string { return name + "-data" }

// Redis returns the objects of a single-replica Redis with append-only
// persistence, whose pod passes the "restricted" Pod Security Standard.
// Invalid options are FieldErrors.
func Redis(o RedisOptions) (*RedisObjects, error) {
	if o.Name == "" {
		o.Name = DefaultRedisName
	}
	if o.Image == "" {
		o.Image = DefaultRedisImage
	}
	if o.Memory == "" {
		o.Memory = DefaultRedisMemory
	}
	if o.Appendfsync == "" {
		o.Appendfsync = FsyncEverySec
	}
	size, memory, err := o.validate()
	if err != nil {
		return nil, err
	}

	selector := map[string]string{LabelName: "redis", LabelInstance: o.Name}
	labels := mergeLabels(map[string]string{
		LabelManagedBy: ManagedByValue,
		LabelName:      "redis",
		LabelInstance:  o.Name,
	}, o.Labels)
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: copyLabels(labels)}
	}

	objs := &RedisObjects{}
	plainPort := fmt.Sprint(RedisPort)
	if o.TLS != nil {
		plainPort = "0" // TLS only: no plain port at all
	}
	var args []string
	if o.Password != "" {
		// redis-server's first argument may be a configuration file: the
		// password comes from there, not from the command line, where any
		// process of the node could read it.
		args = append(args, RedisConfigFile)
	}
	// Every write goes to the append-only file, flushed to disk every second
	// (or before each write is answered); a full Redis refuses writes rather
	// than evict items, which would lose them without a word.
	args = append(args,
		"--appendonly", "yes",
		"--appendfsync", o.Appendfsync,
		"--dir", redisDataDir,
		"--port", plainPort,
		"--protected-mode", "no",
		"--save", "",
		"--maxmemory", fmt.Sprint(memory.Value()*MaxMemoryPercent/100),
		"--maxmemory-policy", "noeviction",
	)
	volumes := []corev1.Volume{{Name: RedisDataVolume}}
	mounts := []corev1.VolumeMount{{Name: RedisDataVolume, MountPath: redisDataDir}}
	if o.TLS != nil {
		objs.TLSSecret = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta(TLSSecretName(o.Name)),
			Type:       corev1.SecretTypeTLS,
			Data: map[string][]byte{
				workerenv.TLSCertFile: bytes.Clone(o.TLS.Cert),
				workerenv.TLSKeyFile:  bytes.Clone(o.TLS.Key),
				workerenv.TLSCAFile:   bytes.Clone(o.TLS.CACert),
			},
		}
		objs.CASecret = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta(CASecretName(o.Name)),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{workerenv.TLSCAFile: bytes.Clone(o.TLS.CACert)},
		}
		args = append(args,
			"--tls-port", fmt.Sprint(RedisPort),
			"--tls-cert-file", redisTLSDir+"/"+workerenv.TLSCertFile,
			"--tls-key-file", redisTLSDir+"/"+workerenv.TLSKeyFile,
			"--tls-ca-cert-file", redisTLSDir+"/"+workerenv.TLSCAFile,
			"--tls-auth-clients", "no",
		)
		volumes = append(volumes, corev1.Volume{Name: redisTLSVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: TLSSecretName(o.Name),
			// Readable by Redis' group (the pod's fsGroup), no one else.
			DefaultMode: ptr.To[int32](0o440),
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: redisTLSVolume, MountPath: redisTLSDir, ReadOnly: true})
	}
	if o.Password != "" {
		objs.Secret = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta(PasswordSecretName(o.Name)),
			Type:       corev1.SecretTypeOpaque,
			Data: map[string][]byte{
				PasswordSecretKey: []byte(o.Password),
				RedisConfigKey:    []byte("requirepass " + quoteRedisConfig(o.Password) + "\n"),
			},
		}
		volumes = append(volumes, corev1.Volume{Name: redisConfigVolume, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{
				SecretName:  PasswordSecretName(o.Name),
				Items:       []corev1.KeyToPath{{Key: RedisConfigKey, Path: RedisConfigKey}},
				DefaultMode: ptr.To[int32](0o440), // the redis group (fsGroup) reads it
			},
		}})
		mounts = append(mounts, corev1.VolumeMount{Name: redisConfigVolume, MountPath: redisConfigDir, ReadOnly: true})
	}

	data := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	if size != nil {
		objs.PVC = &corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: meta(RedisDataClaimName(o.Name)),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceStorage: *size},
				},
			},
		}
		if o.StorageClass != "" {
			objs.PVC.Spec.StorageClassName = ptr.To(o.StorageClass)
		}
		data = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
			ClaimName: RedisDataClaimName(o.Name),
		}}
	}
	volumes[0].VolumeSource = data

	objs.Service = &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(o.Name),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: copyLabels(selector),
			Ports: []corev1.ServicePort{{
				Name:       redisPortName,
				Protocol:   corev1.ProtocolTCP,
				Port:       RedisPort,
				TargetPort: intstr.FromInt32(RedisPort),
			}},
		},
	}

	objs.Deployment = &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(o.Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: copyLabels(selector)},
			// A single writer: never two pods on one volume, even during a rollout.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyLabels(labels)},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](RedisUID),
						RunAsGroup:     ptr.To[int64](RedisUID),
						FSGroup:        ptr.To[int64](RedisUID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            redisContainer,
						Image:           o.Image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command:         []string{"redis-server"},
						Args:            args,
						Ports: []corev1.ContainerPort{{
							Name:          redisPortName,
							ContainerPort: RedisPort,
							Protocol:      corev1.ProtocolTCP,
						}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler: corev1.ProbeHandler{
								TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(RedisPort)},
							},
							PeriodSeconds: 5,
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{
								corev1.ResourceCPU:    resource.MustParse("50m"),
								corev1.ResourceMemory: resource.MustParse("64Mi"),
							},
							Limits: corev1.ResourceList{
								corev1.ResourceMemory: *memory,
							},
						},
						VolumeMounts:    mounts,
						SecurityContext: restrictedContainerContext(),
					}},
					Volumes: volumes,
				},
			},
		},
	}
	objs.Deployment.Annotations = map[string]string{AnnotationPodTemplateHash: templateHash(&objs.Deployment.Spec.Template)}
	return objs, nil
}

// templateHash identifies a pod template: equal templates, equal hashes.
func templateHash(t *corev1.PodTemplateSpec) string {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err) // a typed object always marshals
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// minRedisMemory is the least --memory that leaves Redis room to start and
// hold a few items.
var minRedisMemory = resource.MustParse("32Mi")

// validate checks o (with defaults applied) and returns the parsed storage size
// (nil for emptyDir) and memory limit.
func (o *RedisOptions) validate() (size, memory *resource.Quantity, err error) {
	var errs fieldErrors
	errs.namespace(o.Namespace)
	errs.dns1035Label("name", o.Name)
	if o.Storage != "" {
		q, err := resource.ParseQuantity(o.Storage)
		switch {
		case err != nil:
			errs.add("storage", o.Storage, "must be a size such as 1Gi: "+err.Error())
		case q.Sign() <= 0:
			errs.add("storage", o.Storage, "must be greater than zero")
		default:
			size = &q
		}
	}
	if o.StorageClass != "" {
		if o.Storage == "" {
			errs.add("storageClass", nil, "needs %s (without it Redis keeps its data in an emptyDir)", "storage")
		}
		errs.dns1123Subdomain("storageClass", o.StorageClass)
	}
	q, merr := resource.ParseQuantity(o.Memory)
	switch {
	case merr != nil:
		errs.add("memory", o.Memory, "must be a size such as 512Mi: "+merr.Error())
	case q.Cmp(minRedisMemory) < 0:
		errs.add("memory", o.Memory, "must be at least "+minRedisMemory.String())
	default:
		memory = &q
	}
	if o.Appendfsync != FsyncEverySec && o.Appendfsync != FsyncAlways {
		errs.add("appendfsync", o.Appendfsync, `must be "`+FsyncEverySec+`" or "`+FsyncAlways+`"`)
	}
	errs.labels(o.Labels, LabelManagedBy, LabelName, LabelInstance)
	if err := errs.err(); err != nil {
		return nil, nil, err
	}
	return size, memory, nil
}

// quoteRedisConfig quotes s as a string of Redis' configuration file, which
// understands double quotes with backslash escapes.
func quoteRedisConfig(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// restrictedContainerContext is what the "restricted" Pod Security Standard
// asks of every container.
func restrictedContainerContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}
