package cmd

import (
	"errors"
	"strings"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

// jobOptionFlags names what sets each option of manifest.JobOptions in run.
var jobOptionFlags = map[string]string{
	"queue":                   "the QUEUE argument",
	"name":                    "--name",
	"namespace":               "--namespace",
	"image":                   "--image",
	"workerImage":             "--worker-image",
	"parallelism":             "--parallelism",
	"perItem":                 "--per-item",
	"completions":             "the Job's completions (one per pending item with --per-item)",
	"restartPolicy":           "--restart",
	"backoffLimit":            "--backoff-limit",
	"activeDeadlineSeconds":   "--active-deadline",
	"ttlSecondsAfterFinished": "--ttl-after-finished",
	"resources.requests":      "--requests",
	"resources.limits":        "--limits",
	"env":                     "--env",
	"serviceAccount":          "--service-account",
	"imagePullSecrets":        "--image-pull-secret",
	"labels":                  "--labels",
	"redisService":            "--redis-service",
	"redisPort":               "--redis-port",
	"passwordSecret":          "--redis-password-secret",
	"passwordSecret.name":     "--redis-password-secret NAME",
	"passwordSecret.key":      "--redis-password-secret KEY",
	"usernameSecret":          "--redis-password-secret",
	"usernameSecret.name":     "--redis-password-secret NAME",
	"usernameSecret.key":      "--redis-password-secret",
	"urlSecret":               "--redis-url-secret",
	"urlSecret.name":          "--redis-url-secret NAME",
	"urlSecret.key":           "--redis-url-secret KEY",
	"tlsSecret":               "--redis-tls-secret",
	"insecureSkipTLSVerify":   "--redis-insecure-skip-tls-verify",
	"lease":                   "--lease",
	"container":               "--container",
	"kueueQueue":              "--kueue-queue",
	"base":                    "-f",
	"maxAttempts":             "--max-attempts",
	"itemTimeout":             "--item-timeout",
	"redisTimeout":            "--redis-timeout",
	"waitForSeed":             "--allow-empty",
}

// redisOptionFlags names what sets each option of manifest.RedisOptions in init.
var redisOptionFlags = map[string]string{
	"namespace":    "--namespace",
	"name":         "--redis-service",
	"image":        "--image",
	"storage":      "--storage",
	"storageClass": "--storage-class",
	"memory":       "--memory",
	"appendfsync":  "--appendfsync",
}

// inFlagTerms words the generators' FieldErrors with the flags that set the
// options, as names maps them ("passwordSecret.key" is named by
// "passwordSecret" unless mapped itself); other errors pass through.
func inFlagTerms(err error, names map[string]string) error {
	var errs manifest.FieldErrors
	if !errors.As(err, &errs) {
		return err
	}
	return errors.New(errs.In(func(field string) string {
		for f := field; f != ""; {
			if name, ok := names[f]; ok {
				return name
			}
			i := strings.LastIndexByte(f, '.')
			if i < 0 {
				break
			}
			f = f[:i]
		}
		return field
	}))
}
