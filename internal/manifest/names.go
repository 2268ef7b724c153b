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

	// LabelKueueQueue names the Kueue LocalQueue that admits a Job.
	LabelKueueQueue = "kueue.x-k8s.io/queue-name"

	// PasswordSecretKey is the key of the Redis password in its Secret.
	PasswordSecretKey = "password"
)

// PasswordSecretName is the Secret that 'init' creates for the Redis behind
// service, and where every other command looks for the password by default.
func PasswordSecretName(service string) string { return service + "-auth" }
