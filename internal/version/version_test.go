package version

import "testing"

func TestWorkerImageOnlyForVersionsSomeoneBuildsAnImageFor(t *testing.T) {
	for v, want := range map[string]string{
		// releases, and what the Makefile stamps (git describe): their images
		// are pushed by the release, or imported by `make images`
		"v0.2.0":                               WorkerImageRepo + ":v0.2.0",
		"v0.3.0-rc.1":                          WorkerImageRepo + ":v0.3.0-rc.1",
		"v0.2.0-3-gcc850a8":                    WorkerImageRepo + ":v0.2.0-3-gcc850a8",
		"cc850a8-dirty":                        WorkerImageRepo + ":cc850a8-dirty",
		"dev":                                  "",
		"":                                     "",
		"v0.0.0-20261130053200-cc850a8e1f2b":   "",
		"v0.2.1-0.20261130053200-cc850a8e1f2b": "",
		"v0.2.1-rc.1.0.20261130053200-cc850a8e1f2b":  "",
		"v0.2.1-0.20261130053200-cc850a8e1f2b+dirty": "",
		"v0.2.0+dirty": "",
	} {
		if got := workerImage(v); got != want {
			t.Errorf("version %q: worker image %q, want %q", v, got, want)
		}
	}
}
