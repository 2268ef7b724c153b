package manifest

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// A small checker for the Pod Security Standards
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
// standing in for k8s.io/pod-security-admission/policy, which is not a
// dependency of this module. It covers every control of "baseline" and
// "restricted" that a pod spec can violate.

type pssLevel int

const (
	baseline pssLevel = iota
	restricted
)

var baselineCaps = map[corev1.Capability]bool{
	"AUDIT_WRITE": true, "CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true, "KILL": true,
	"MKNOD": true, "NET_BIND_SERVICE": true, "SETFCAP": true, "SETGID": true, "SETPCAP": true, "SETUID": true,
	"SYS_CHROOT": true,
}

var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced": true, "net.ipv4.ip_local_port_range": true, "net.ipv4.ip_unprivileged_port_start": true,
	"net.ipv4.tcp_syncookies": true, "net.ipv4.ping_group_range": true, "net.ipv4.ip_local_reserved_ports": true,
	"net.ipv4.tcp_keepalive_time": true, "net.ipv4.tcp_fin_timeout": true, "net.ipv4.tcp_keepalive_intvl": true,
	"net.ipv4.tcp_keepalive_probes": true,
}

var seLinuxTypes = map[string]bool{"": true, "container_t": true, "container_init_t": true, "container_kvm_t": true, "container_engine_t": true}

// podSecurityViolations lists what keeps a pod from meeting level.
func podSecurityViolations(level pssLevel, meta metav1.ObjectMeta, spec corev1.PodSpec) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }

	var containers []corev1.Container
	containers = append(containers, spec.InitContainers...)
	containers = append(containers, spec.Containers...)
	for _, e := range spec.EphemeralContainers {
		containers = append(containers, corev1.Container(e.EphemeralContainerCommon))
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}

	// Baseline.
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		bad("host namespaces")
	}
	if psc.WindowsOptions != nil && ptr.Deref(psc.WindowsOptions.HostProcess, false) {
		bad("pod: hostProcess")
	}
	for _, vol := range spec.Volumes {
		if vol.HostPath != nil {
			bad("volume %s: hostPath", vol.Name)
		}
	}
	for k, val := range meta.Annotations {
		if strings.HasPrefix(k, "container.apparmor.security.beta.kubernetes.io/") && val != "runtime/default" && !strings.HasPrefix(val, "localhost/") {
			bad("annotation %s=%s", k, val)
		}
	}
	if p := psc.AppArmorProfile; p != nil && p.Type == corev1.AppArmorProfileTypeUnconfined {
		bad("pod: appArmor Unconfined")
	}
	checkSELinux := func(who string, o *corev1.SELinuxOptions) {
		if o != nil && (!seLinuxTypes[o.Type] || o.User != "" || o.Role != "") {
			bad("%s: seLinuxOptions %+v", who, *o)
		}
	}
	checkSELinux("pod", psc.SELinuxOptions)
	if p := psc.SeccompProfile; p != nil && p.Type == corev1.SeccompProfileTypeUnconfined {
		bad("pod: seccomp Unconfined")
	}
	for _, s := range psc.Sysctls {
		if !safeSysctls[s.Name] {
			bad("pod: sysctl %s", s.Name)
		}
	}
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		if ptr.Deref(sc.Privileged, false) {
			bad("%s: privileged", c.Name)
		}
		if sc.WindowsOptions != nil && ptr.Deref(sc.WindowsOptions.HostProcess, false) {
			bad("%s: hostProcess", c.Name)
		}
		if sc.Capabilities != nil {
			for _, add := range sc.Capabilities.Add {
				if !baselineCaps[add] {
					bad("%s: adds capability %s", c.Name, add)
				}
			}
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				bad("%s: hostPort %d", c.Name, p.HostPort)
			}
		}
		if p := sc.AppArmorProfile; p != nil && p.Type == corev1.AppArmorProfileTypeUnconfined {
			bad("%s: appArmor Unconfined", c.Name)
		}
		checkSELinux(c.Name, sc.SELinuxOptions)
		if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
			bad("%s: procMount %s", c.Name, *sc.ProcMount)
		}
		if p := sc.SeccompProfile; p != nil && p.Type == corev1.SeccompProfileTypeUnconfined {
			bad("%s: seccomp Unconfined", c.Name)
		}
	}
	if level == baseline {
		return v
	}

	// Restricted. (The standard also allows csi and ephemeral volumes; we
	// never generate them, so they are rejected here.)
	for _, vol := range spec.Volumes {
		s := vol.VolumeSource
		if s.EmptyDir == nil && s.Secret == nil && s.ConfigMap == nil && s.PersistentVolumeClaim == nil &&
			s.Projected == nil && s.DownwardAPI == nil {
			bad("volume %s: type not allowed", vol.Name)
		}
	}
	podNonRoot := ptr.Deref(psc.RunAsNonRoot, false)
	podSeccomp := psc.SeccompProfile != nil &&
		(psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault || psc.SeccompProfile.Type == corev1.SeccompProfileTypeLocalhost)
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		bad("pod: runAsUser 0")
	}
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			bad("%s: allowPrivilegeEscalation is not false", c.Name)
		}
		switch {
		case sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot:
			bad("%s: runAsNonRoot false", c.Name)
		case sc.RunAsNonRoot == nil && !podNonRoot:
			bad("%s: runAsNonRoot not set (neither on the container nor the pod)", c.Name)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			bad("%s: runAsUser 0", c.Name)
		}
		switch p := sc.SeccompProfile; {
		case p == nil && !podSeccomp:
			bad("%s: seccompProfile not set (neither on the container nor the pod)", c.Name)
		case p != nil && p.Type != corev1.SeccompProfileTypeRuntimeDefault && p.Type != corev1.SeccompProfileTypeLocalhost:
			bad("%s: seccompProfile %s", c.Name, p.Type)
		}
		dropsAll := false
		if sc.Capabilities != nil {
			for _, d := range sc.Capabilities.Drop {
				dropsAll = dropsAll || d == "ALL"
			}
			for _, add := range sc.Capabilities.Add {
				if add != "NET_BIND_SERVICE" {
					bad("%s: adds capability %s", c.Name, add)
				}
			}
		}
		if !dropsAll {
			bad("%s: capabilities do not drop ALL", c.Name)
		}
	}
	return v
}

func TestRedisPodIsRestricted(t *testing.T) {
	for name, o := range map[string]RedisOptions{
		"no-auth":  {},
		"password": {Password: "p"},
		"pvc":      {Password: "p", Storage: "1Gi"},
	} {
		pod := mustRedis(t, o).Deployment.Spec.Template
		if v := podSecurityViolations(restricted, pod.ObjectMeta, pod.Spec); len(v) > 0 {
			t.Errorf("%s: Redis pod violates restricted: %v", name, v)
		}
		// The specific choices the brief asks for.
		sc := pod.Spec.SecurityContext
		if ptr.Deref(sc.RunAsUser, 0) != 999 || ptr.Deref(sc.RunAsGroup, 0) != 999 || ptr.Deref(sc.FSGroup, 0) != 999 {
			t.Errorf("%s: pod security context = %+v, want uid/gid/fsGroup 999", name, sc)
		}
		if ptr.Deref(pod.Spec.AutomountServiceAccountToken, true) {
			t.Errorf("%s: service account token is mounted", name)
		}
	}
}

func TestJobPodSecurity(t *testing.T) {
	for name, o := range map[string]JobOptions{
		"docs": docsJob(), "command": commandJob(), "per-item": perItemJob(),
	} {
		pod := mustJob(t, o).Spec.Template
		if v := podSecurityViolations(baseline, pod.ObjectMeta, pod.Spec); len(v) > 0 {
			t.Errorf("%s: violates baseline: %v", name, v)
		}
		// Beyond baseline, every container is hardened; only the pod-level
		// settings that need the image's cooperation are missing.
		for _, v := range podSecurityViolations(restricted, pod.ObjectMeta, pod.Spec) {
			if !strings.Contains(v, "worker: runAsNonRoot not set") && !strings.Contains(v, "worker: seccompProfile not set") {
				t.Errorf("%s: unexpected restricted violation: %s", name, v)
			}
		}

		o.Restricted = true
		pod = mustJob(t, o).Spec.Template
		if v := podSecurityViolations(restricted, pod.ObjectMeta, pod.Spec); len(v) > 0 {
			t.Errorf("%s with Restricted: violates restricted: %v", name, v)
		}
	}
	// Without Restricted the default really is not "restricted" (the flag matters).
	pod := mustJob(t, docsJob()).Spec.Template
	if len(podSecurityViolations(restricted, pod.ObjectMeta, pod.Spec)) == 0 {
		t.Error("the default Job claims runAsNonRoot: user images running as root would not start")
	}
}

// TestPodSecurityChecker makes sure the checker itself catches violations, so
// the tests above cannot pass vacuously.
func TestPodSecurityChecker(t *testing.T) {
	o := commandJob()
	o.Restricted = true
	good := mustJob(t, o).Spec.Template
	if v := podSecurityViolations(restricted, good.ObjectMeta, good.Spec); len(v) > 0 {
		t.Fatalf("fixture not restricted: %v", v)
	}
	main := func(p *corev1.PodTemplateSpec) *corev1.SecurityContext { return p.Spec.Containers[0].SecurityContext }
	initc := func(p *corev1.PodTemplateSpec) *corev1.SecurityContext {
		return p.Spec.InitContainers[0].SecurityContext
	}
	for _, tc := range []struct {
		name   string
		level  pssLevel
		mutate func(*corev1.PodTemplateSpec)
	}{
		{"hostNetwork", baseline, func(p *corev1.PodTemplateSpec) { p.Spec.HostNetwork = true }},
		{"hostPID", baseline, func(p *corev1.PodTemplateSpec) { p.Spec.HostPID = true }},
		{"privileged", baseline, func(p *corev1.PodTemplateSpec) { main(p).Privileged = ptr.To(true) }},
		{"hostPath", baseline, func(p *corev1.PodTemplateSpec) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
		}},
		{"hostPort", baseline, func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80}}
		}},
		{"SYS_ADMIN", baseline, func(p *corev1.PodTemplateSpec) { main(p).Capabilities.Add = []corev1.Capability{"SYS_ADMIN"} }},
		{"seccomp Unconfined", baseline, func(p *corev1.PodTemplateSpec) {
			initc(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}},
		{"unsafe sysctl", baseline, func(p *corev1.PodTemplateSpec) {
			p.Spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}}
		}},
		{"procMount", baseline, func(p *corev1.PodTemplateSpec) { main(p).ProcMount = ptr.To(corev1.UnmaskedProcMount) }},
		{"nfs volume", restricted, func(p *corev1.PodTemplateSpec) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "n", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}})
		}},
		{"allowPrivilegeEscalation unset", restricted, func(p *corev1.PodTemplateSpec) { initc(p).AllowPrivilegeEscalation = nil }},
		{"allowPrivilegeEscalation true", restricted, func(p *corev1.PodTemplateSpec) { main(p).AllowPrivilegeEscalation = ptr.To(true) }},
		{"no drop ALL", restricted, func(p *corev1.PodTemplateSpec) { main(p).Capabilities.Drop = nil }},
		{"adds CHOWN", restricted, func(p *corev1.PodTemplateSpec) { initc(p).Capabilities.Add = []corev1.Capability{"CHOWN"} }},
		{"pod runAsNonRoot unset", restricted, func(p *corev1.PodTemplateSpec) { p.Spec.SecurityContext.RunAsNonRoot = nil }},
		{"container runAsNonRoot false", restricted, func(p *corev1.PodTemplateSpec) { main(p).RunAsNonRoot = ptr.To(false) }},
		{"runAsUser 0", restricted, func(p *corev1.PodTemplateSpec) { main(p).RunAsUser = ptr.To[int64](0) }},
		{"pod seccomp unset", restricted, func(p *corev1.PodTemplateSpec) { p.Spec.SecurityContext.SeccompProfile = nil }},
	} {
		p := good.DeepCopy()
		tc.mutate(p)
		if v := podSecurityViolations(tc.level, p.ObjectMeta, p.Spec); len(v) == 0 {
			t.Errorf("%s: not detected", tc.name)
		}
	}
}
