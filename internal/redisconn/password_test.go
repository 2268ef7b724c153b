package redisconn

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/manifest"
)

func secret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func forbidden(action k8stesting.Action) (bool, runtime.Object, error) {
	gr := action.GetResource().GroupResource()
	return true, nil, apierrors.NewForbidden(gr, "", errors.New("RBAC says no"))
}

func TestResolvePassword(t *testing.T) {
	defaultSecret := manifest.PasswordSecretName("redis")
	for _, tc := range []struct {
		name      string
		objects   []runtime.Object
		secretRef string
		env       string
		forbid    bool // reading secrets is forbidden
		want      string
		wantUser  string
		wantFrom  string
		wantErr   string
	}{
		{
			name:      "explicit secret with an ACL user",
			objects:   []runtime.Object{secret("creds", map[string]string{manifest.PasswordSecretKey: "pw0", manifest.UsernameSecretKey: "worker"})},
			secretRef: "creds",
			want:      "pw0", wantUser: "worker", wantFrom: "secret jobs/creds key password",
		},
		{
			name:      "explicit secret, default key",
			objects:   []runtime.Object{secret("creds", map[string]string{manifest.PasswordSecretKey: "pw1"})},
			secretRef: "creds", env: "from-env",
			want: "pw1", wantFrom: "secret jobs/creds key password",
		},
		{
			name:      "explicit secret and key",
			objects:   []runtime.Object{secret("creds", map[string]string{"redis-password": "pw2"})},
			secretRef: "creds:redis-password",
			want:      "pw2", wantFrom: "secret jobs/creds key redis-password",
		},
		{
			name:      "explicit secret missing",
			secretRef: "creds", env: "from-env",
			wantErr: `secret "creds" not found in namespace "jobs"`,
		},
		{
			name:      "explicit key missing",
			objects:   []runtime.Object{secret("creds", map[string]string{"b": "x", "a": "y"})},
			secretRef: "creds:pass",
			wantErr:   `secret "creds" in namespace "jobs" has no key "pass" (keys: a, b): pass --redis-password-secret creds:KEY`,
		},
		{
			name:      "explicit default key missing",
			objects:   []runtime.Object{secret("creds", nil)},
			secretRef: "creds",
			wantErr:   `secret "creds" in namespace "jobs" has no key "password" (keys: none): pass --redis-password-secret creds:KEY`,
		},
		{
			name:      "malformed reference",
			secretRef: "creds:",
			wantErr:   `--redis-password-secret "creds:": want NAME or NAME:KEY`,
		},
		{
			name:    "default secret",
			objects: []runtime.Object{secret(defaultSecret, map[string]string{manifest.PasswordSecretKey: "pw3"})},
			env:     "from-env",
			want:    "pw3", wantFrom: "secret jobs/redis-auth key password",
		},
		{
			name: "default secret missing, environment",
			env:  "from-env",
			want: "from-env", wantFrom: "$REDISCLI_AUTH",
		},
		{
			name: "default secret missing, no password at all",
		},
		{
			name:   "secrets forbidden, environment",
			forbid: true, env: "from-env",
			want: "from-env", wantFrom: "$REDISCLI_AUTH",
		},
		{
			name:    "secrets forbidden, nothing else",
			forbid:  true,
			wantErr: `reading the Redis password from secret "redis-auth" in namespace "jobs": secrets is forbidden: RBAC says no; pass --redis-password-secret or set REDISCLI_AUTH`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(PasswordEnv, tc.env)
			kube := fake.NewClientset(tc.objects...)
			if tc.forbid {
				kube.PrependReactor("get", "secrets", forbidden)
			}
			creds, err := ResolvePassword(context.Background(), kube, ns, "redis", tc.secretRef)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v\nwant   %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if creds.Password != tc.want || creds.From != tc.wantFrom || creds.Username != tc.wantUser {
				t.Fatalf("got %+v, want %q (user %q) from %q", creds, tc.want, tc.wantUser, tc.wantFrom)
			}
		})
	}
}
