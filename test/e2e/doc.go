// Package e2e holds the end-to-end tests of kubectl-workqueue: they drive the
// built binary, as `kubectl workqueue ...` through kubectl's plugin mechanism,
// against the real cluster in KUBECONFIG (the local one of hack/localcluster
// in CI). Every test works in a namespace of its own, deleted afterwards.
//
// The tests carry the build tag e2e, so `go test ./...` leaves them out. Run
// them with `make e2e` (builds the binaries and images, starts the local
// cluster), or by hand:
//
//	eval "$(hack/localcluster/ensure.sh)"
//	make build images
//	go test -tags e2e -count=1 -timeout 40m ./test/e2e/ [-run TestName] [-v]
//
// On a cluster the suite did not create, such as CI's kind cluster:
// `E2E_CLUSTER=kubeconfig hack/e2e.sh` uses the cluster in KUBECONFIG as it
// is, and hack/images.sh builds the images with Docker and `kind load`s them
// under the names the defaults below expect.
//
// Environment (defaults suit the local cluster):
//
//	WQ_E2E_BIN            the plugin binary (default bin/kubectl-workqueue)
//	WQ_E2E_REDIS_IMAGE    Redis image for `init --image` (localhost/lk8s/redis:7.0.15)
//	WQ_E2E_IMAGE          worker image with sh and redis-cli (localhost/lk8s/pyredis:bookworm)
//	WQ_E2E_EXAMPLE_IMAGE  the docs' rediswq.py worker, non-root
//	                      (localhost/kubectl-workqueue/rediswq-worker:v1, hack/images.sh)
//	WQ_E2E_KUEUE          Kueue's manager for TestKueueAdmission: the path
//	                      hack/localcluster/kueue.sh prints (hack/e2e.sh sets it)
//	WQ_E2E_KEEP=1         keep the test namespaces for inspection
package e2e
