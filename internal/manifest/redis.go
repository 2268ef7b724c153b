package manifest

import (
	"bytes"
	"fmt"

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

	redisContainer   = "redis"
	redisPortName    = "redis"
	redisDataVolume  = "data"
	redisDataDir     = "/data"
	redisTLSVolume   = "tls"
	redisTLSDir      = "/tls"
	redisPasswordEnv = "REDIS_PASSWORD"
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
	// Labels are added to every object.
	Labels map[string]string
	// TLS makes Redis speak only TLS, with this certificate; nil: plain TCP.
	TLS *RedisTLS
}

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
	size, err := o.validate()
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
	args := []string{
		"--appendonly", "yes",
		"--dir", redisDataDir,
		"--port", plainPort,
		"--protected-mode", "no",
		"--save", "",
	}
	volumes := []corev1.Volume{{Name: redisDataVolume}}
	mounts := []corev1.VolumeMount{{Name: redisDataVolume, MountPath: redisDataDir}}
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
	var env []corev1.EnvVar
	if o.Password != "" {
		objs.Secret = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta(PasswordSecretName(o.Name)),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{PasswordSecretKey: []byte(o.Password)},
		}
		env = []corev1.EnvVar{{
			Name: redisPasswordEnv,
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: PasswordSecretName(o.Name)},
				Key:                  PasswordSecretKey,
			}},
		}}
		// Kubernetes expands $(REDIS_PASSWORD) from env; the password never
		// appears in the Deployment.
		args = append(args, "--requirepass", "$("+redisPasswordEnv+")")
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
						Env:             env,
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
								corev1.ResourceMemory: resource.MustParse("512Mi"),
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
	return objs, nil
}

// validate checks o (with defaults applied) and returns the parsed storage size
// (nil for emptyDir).
func (o *RedisOptions) validate() (*resource.Quantity, error) {
	var errs fieldErrors
	errs.namespace(o.Namespace)
	errs.dns1035Label("name", o.Name)
	var size *resource.Quantity
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
	errs.labels(o.Labels, LabelManagedBy, LabelName, LabelInstance)
	return size, errs.err()
}

// restrictedContainerContext is what the "restricted" Pod Security Standard
// asks of every container.
func restrictedContainerContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}
