package redisconn

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

// PasswordEnv is the environment variable that holds a Redis password when no
// Secret gives one; redis-cli reads the same variable.
const PasswordEnv = "REDISCLI_AUTH"

// ResolvePassword finds the Redis password for the Redis behind service.
//
// secretRef is "NAME[:KEY]" (KEY defaults to manifest.PasswordSecretKey); the
// Secret and key must exist. When secretRef is empty, the Secret that 'init'
// creates (manifest.PasswordSecretName(service)) is used if it exists, and
// $REDISCLI_AUTH otherwise.
//
// from describes where the password came from, for messages ("secret
// ns/name", "$REDISCLI_AUTH"); it is empty when there is no password.
func ResolvePassword(ctx context.Context, kube kubernetes.Interface, namespace, service, secretRef string) (password, from string, err error) {
	if secretRef != "" {
		ref, err := ParseSecretRef(secretRef)
		if err != nil {
			return "", "", err
		}
		return secretPassword(ctx, kube, namespace, ref.Name, ref.Key)
	}

	name := manifest.PasswordSecretName(service)
	password, from, err = secretPassword(ctx, kube, namespace, name, manifest.PasswordSecretKey)
	switch {
	case err == nil:
		return password, from, nil
	case os.Getenv(PasswordEnv) != "":
		return os.Getenv(PasswordEnv), "$" + PasswordEnv, nil
	case isNotFound(err):
		return "", "", nil
	default:
		return "", "", fmt.Errorf("%w; pass --redis-password-secret or set %s", err, PasswordEnv)
	}
}

// SecretRef is the key of a Secret that holds the Redis password.
type SecretRef struct{ Name, Key string }

// ParseSecretRef parses --redis-password-secret's "NAME[:KEY]"; KEY
// defaults to manifest.PasswordSecretKey.
func ParseSecretRef(ref string) (SecretRef, error) {
	name, key, hasKey := strings.Cut(ref, ":")
	if !hasKey {
		key = manifest.PasswordSecretKey
	}
	if name == "" || key == "" {
		return SecretRef{}, fmt.Errorf("--redis-password-secret %q: want NAME or NAME:KEY", ref)
	}
	return SecretRef{Name: name, Key: key}, nil
}

// notFoundError marks a missing Secret, so the default Secret can be skipped.
type notFoundError struct{ error }

func isNotFound(err error) bool {
	_, ok := err.(notFoundError)
	return ok
}

func secretPassword(ctx context.Context, kube kubernetes.Interface, namespace, name, key string) (password, from string, err error) {
	secret, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", "", notFoundError{fmt.Errorf("secret %q not found in namespace %q", name, namespace)}
	}
	if err != nil {
		return "", "", fmt.Errorf("reading the Redis password from secret %q in namespace %q: %w", name, namespace, err)
	}
	value, ok := secret.Data[key]
	if !ok {
		keys := slices.Sorted(maps.Keys(secret.Data))
		if len(keys) == 0 {
			keys = append(keys, "none")
		}
		return "", "", fmt.Errorf("secret %q in namespace %q has no key %q (keys: %s): pass --redis-password-secret %s:KEY",
			name, namespace, key, strings.Join(keys, ", "), name)
	}
	return string(value), fmt.Sprintf("secret %s/%s key %s", namespace, name, key), nil
}
