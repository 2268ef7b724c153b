package redisconn

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

// PasswordEnv is the environment variable that holds a Redis password when no
// Secret gives one; redis-cli reads the same variable.
const PasswordEnv = "REDISCLI_AUTH"

// Credentials are what Redis is logged into with: a password, and for an
// ACL user its name (empty: the default user).
type Credentials struct {
	Username, Password string
	// From describes where they came from, for messages ("secret ns/name
	// key password", "$REDISCLI_AUTH"); empty when there is no password.
	From string
}

// ResolvePassword finds the credentials for the Redis behind service.
//
// secretRef is "NAME[:KEY]" (KEY defaults to manifest.PasswordSecretKey); the
// Secret and key must exist. A Secret that also has the key
// manifest.UsernameSecretKey (as a kubernetes.io/basic-auth Secret does)
// names an ACL user. When secretRef is empty, the Secret that 'init'
// creates (manifest.PasswordSecretName(service)) is used if it exists, and
// $REDISCLI_AUTH otherwise.
func ResolvePassword(ctx context.Context, kube kubernetes.Interface, namespace, service, secretRef string) (Credentials, error) {
	if secretRef != "" {
		ref, err := ParseSecretRef(secretRef)
		if err != nil {
			return Credentials{}, err
		}
		return secretPassword(ctx, kube, namespace, ref.Name, ref.Key)
	}

	name := manifest.PasswordSecretName(service)
	creds, err := secretPassword(ctx, kube, namespace, name, manifest.PasswordSecretKey)
	switch {
	case err == nil:
		return creds, nil
	case os.Getenv(PasswordEnv) != "":
		return envPassword(), nil
	case isNotFound(err):
		return Credentials{}, nil
	default:
		return Credentials{}, fmt.Errorf("%w; pass --redis-password-secret or set %s", err, PasswordEnv)
	}
}

// envPassword is the password of $REDISCLI_AUTH, if set.
func envPassword() Credentials {
	if p := os.Getenv(PasswordEnv); p != "" {
		return Credentials{Password: p, From: "$" + PasswordEnv}
	}
	return Credentials{}
}

// SecretRef is a key of a Secret: of the Redis password, or URL.
type SecretRef struct{ Name, Key string }

// ParseSecretRef parses --redis-password-secret's "NAME[:KEY]"; KEY
// defaults to manifest.PasswordSecretKey.
func ParseSecretRef(ref string) (SecretRef, error) {
	return parseRef("--redis-password-secret", ref, manifest.PasswordSecretKey)
}

// parseRef parses the "NAME[:KEY]" of flag; KEY defaults to defaultKey.
func parseRef(flag, ref, defaultKey string) (SecretRef, error) {
	name, key, hasKey := strings.Cut(ref, ":")
	if !hasKey {
		key = defaultKey
	}
	if name == "" || key == "" {
		return SecretRef{}, fmt.Errorf("%s %q: want NAME or NAME:KEY", flag, ref)
	}
	return SecretRef{Name: name, Key: key}, nil
}

// notFoundError marks a missing Secret, so the default Secret can be skipped.
type notFoundError struct{ error }

func isNotFound(err error) bool {
	_, ok := err.(notFoundError)
	return ok
}

func secretPassword(ctx context.Context, kube kubernetes.Interface, namespace, name, key string) (Credentials, error) {
	secret, err := getSecret(ctx, kube, namespace, name, "the Redis password")
	if err != nil {
		return Credentials{}, err
	}
	value, err := secretKey(secret, key, "--redis-password-secret")
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{
		Username: string(secret.Data[manifest.UsernameSecretKey]),
		Password: string(value),
		From:     fmt.Sprintf("secret %s/%s key %s", namespace, name, key),
	}, nil
}

// getSecret reads a Secret; what says what it is read for, in errors.
func getSecret(ctx context.Context, kube kubernetes.Interface, namespace, name, what string) (*corev1.Secret, error) {
	secret, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, notFoundError{fmt.Errorf("secret %q not found in namespace %q", name, namespace)}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s from secret %q in namespace %q: %w", what, name, namespace, err)
	}
	return secret, nil
}

// secretKey is the value of key in secret; the error lists the keys there
// are and names flag, which takes NAME:KEY.
func secretKey(secret *corev1.Secret, key, flag string) ([]byte, error) {
	value, ok := secret.Data[key]
	if !ok {
		keys := slices.Sorted(maps.Keys(secret.Data))
		if len(keys) == 0 {
			keys = append(keys, "none")
		}
		return nil, fmt.Errorf("secret %q in namespace %q has no key %q (keys: %s): pass %s %s:KEY",
			secret.Name, secret.Namespace, key, strings.Join(keys, ", "), flag, secret.Name)
	}
	return value, nil
}
