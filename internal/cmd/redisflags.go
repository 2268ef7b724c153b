package cmd

import (
	"slices"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
	"github.com/kubectl-workqueue/kubectl-workqueue/internal/redisconn"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// redisFlags say how the CLI reaches the queue's Redis.
type redisFlags struct {
	service            string
	port               string
	url                string
	urlSecret          string
	passwordSecret     string
	ca, cert, key      string
	tlsSecret          string
	insecureSkipVerify bool
}

func (r *redisFlags) addFlags(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&r.service, "redis-service", "redis", "Service in front of the queue's Redis; the CLI port-forwards to one of its ready pods")
	fs.StringVar(&r.port, "redis-port", "6379", "the Service's port (number or name) that Redis listens on")
	fs.StringVar(&r.url, "redis-url", "", "connect to Redis directly instead of through the Service: redis[s]://[[USER]:PASSWORD@]HOST:PORT[/DB] (one Redis, or any node of a Redis Cluster) or redis[s]+sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB]")
	fs.StringVar(&r.urlSecret, "redis-url-secret", "", "Secret NAME[:KEY] (default key url) holding the --redis-url, password included; 'run' gives it to the workers the same way")
	fs.StringVar(&r.passwordSecret, "redis-password-secret", "", "Secret NAME[:KEY] holding the Redis password, and the ACL user under key username if there is one (default: the Secret made by 'init', if present; or $REDISCLI_AUTH)")
	fs.StringVar(&r.ca, "redis-ca", "", "PEM file of the CA that signed Redis' certificate (with a rediss:// URL; default: the system's CAs)")
	fs.StringVar(&r.cert, "redis-cert", "", "PEM file of a client certificate, for a Redis that requires one (mutual TLS); needs --redis-key")
	fs.StringVar(&r.key, "redis-key", "", "PEM file of the client certificate's private key")
	fs.StringVar(&r.tlsSecret, "redis-tls-secret", "", "Secret NAME holding ca.crt and, for mutual TLS, tls.crt and tls.key; instead of --redis-ca/--redis-cert/--redis-key, and 'run' mounts it into the pods")
	fs.BoolVar(&r.insecureSkipVerify, "redis-insecure-skip-tls-verify", false, "accept any certificate from Redis (for tests only: anyone between the CLI and Redis can read the queue)")
}

// options are the flags as redisconn takes them.
func (r *redisFlags) options(namespace string) redisconn.Options {
	return redisconn.Options{
		URL:                r.url,
		URLSecret:          r.urlSecret,
		Namespace:          namespace,
		Service:            r.service,
		Port:               r.port,
		PasswordSecret:     r.passwordSecret,
		CAFile:             r.ca,
		CertFile:           r.cert,
		KeyFile:            r.key,
		TLSSecret:          r.tlsSecret,
		InsecureSkipVerify: r.insecureSkipVerify,
	}
}

// given reports whether any flag names a Redis other than init's.
func (r *redisFlags) given() bool {
	return r.url != "" || r.urlSecret != "" || r.passwordSecret != "" || r.tlsSecret != "" || r.ca != "" || r.cert != "" || r.insecureSkipVerify
}

// forJob are the flags that lead to the Redis that job's workers were
// given by 'run': its URL Secret, password Secret and TLS Secret. Flags the
// user gave win; a Job without such Secrets leaves the flags as they are.
func (r redisFlags) forJob(job *batchv1.Job) redisFlags {
	if r.given() {
		return r
	}
	pod := &job.Spec.Template.Spec
	for _, c := range pod.Containers {
		secretOf := func(name string) *corev1.SecretKeySelector {
			for _, e := range c.Env {
				if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					return e.ValueFrom.SecretKeyRef
				}
			}
			return nil
		}
		url := secretOf(workerenv.RedisURL)
		if url == nil {
			continue
		}
		r.urlSecret = url.Name + ":" + url.Key
		if p := secretOf(workerenv.RedisPassword); p != nil && !ptr.Deref(p.Optional, false) {
			r.passwordSecret = p.Name + ":" + p.Key
		}
		for _, v := range pod.Volumes {
			if v.Name == manifest.WorkerTLSVolume && v.Secret != nil && !ptr.Deref(v.Secret.Optional, false) {
				r.tlsSecret = v.Secret.SecretName
			}
		}
		r.insecureSkipVerify = slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
			return e.Name == workerenv.RedisInsecureSkipTLSVerify && e.Value == "true"
		})
		break
	}
	return r
}
