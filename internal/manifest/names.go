package manifest

const (
	// FieldManager is the server-side apply field manager of everything the plugin applies.
	FieldManager = "kubectl-workqueue"

	// LabelManagedBy marks every object the plugin creates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value.
	ManagedByValue = "kubectl-workqueue"
	// LabelQueue ties a Job to its queue. Queue names need not be valid label
	// values, so the label holds a sanitized form and AnnotationQueue the exact name.
	LabelQueue = "workqueue.kubectl.io/queue"
	// AnnotationQueue holds the exact queue name of a Job.
	AnnotationQueue = "workqueue.kubectl.io/queue"
	// AnnotationQueueEpoch and AnnotationQueueSeeded record the queue's
	// identity and how many items it had been seeded with when its Job was
	// created: outside Redis, they survive a Redis that loses its data, so
	// that wait can tell a lost queue from a drained one, and say how many
	// items were lost.
	AnnotationQueueEpoch  = "workqueue.kubectl.io/queue-epoch"
	AnnotationQueueSeeded = "workqueue.kubectl.io/queue-seeded"

	// AnnotationPodTemplateHash on the Redis Deployment is a hash of the pod
	// template init generated: a rerun of init tells by it, before applying,
	// whether the Redis pod would be replaced (and an emptyDir's data lost).
	AnnotationPodTemplateHash = "workqueue.kubectl.io/pod-template-hash"

	// LabelKueueQueue names the Kueue LocalQueue that admits a Job.
	LabelKueueQueue = "kueue.x-k8s.io/queue-name"

	// PasswordSecretKey is the key of the Redis password in its Secret.
	PasswordSecretKey = "password"
	// UsernameSecretKey is the key of an ACL user's name in the password's
	// Secret (the keys of a kubernetes.io/basic-auth Secret); without it
	// the password is the default user's.
	UsernameSecretKey = "username"
	// URLSecretKey is the default key of the Redis URL in the Secret of
	// --redis-url-secret.
	URLSecretKey = "url"
)

// TLSSecretName is the Secret of the Redis' server certificate that
// 'init --tls' creates (tls.crt, tls.key, ca.crt), mounted only by Redis.
func TLSSecretName(service string) string { return service + "-tls" }

// CASecretName is the Secret holding only the CA certificate (ca.crt) of the
// Redis that 'init --tls' creates: the commands and the workers trust it,
// and find it by this name.
func CASecretName(service string) string { return service + "-ca" }

// PasswordSecretName is the Secret that 'init' creates for the Redis behind
// service, and where every other command looks for the password by default.
func PasswordSecretName(service string) string { return service + "-auth" }
