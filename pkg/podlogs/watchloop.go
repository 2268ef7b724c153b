package podlogs

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// listWatch lists and watches one kind of object. It is a small stand-in
// for client-go's informers (tools/cache), which would pull a module the
// project does not require.
type listWatch[T metav1.Object] struct {
	list  func(ctx context.Context) (items []T, resourceVersion string, err error)
	watch func(ctx context.Context, resourceVersion string) (watch.Interface, error)
}

// change is what listWatch.run reports: a complete list after a re-list, or
// one watch event.
type change[T metav1.Object] struct {
	relist []T
	event  watch.EventType
	obj    T
}

const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// run watches from resourceVersion (the caller did the first list) and sends
// every change to out until ctx ends. When a watch closes it is re-opened
// from the last resourceVersion seen; when that version has expired (410) or
// requests fail, it lists again, backing off while the API keeps failing.
func (lw listWatch[T]) run(ctx context.Context, resourceVersion string, out chan<- change[T]) {
	backoff := minBackoff
	pause := func() bool {
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, maxBackoff)
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	send := func(c change[T]) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	rv := resourceVersion
	for ctx.Err() == nil {
		if rv == "" {
			items, listRV, err := lw.list(ctx)
			if err != nil {
				if !pause() {
					return
				}
				continue
			}
			if !send(change[T]{relist: items}) {
				return
			}
			rv = listRV
		}
		w, err := lw.watch(ctx, rv)
		if err != nil {
			if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
				rv = ""
			}
			if !pause() {
				return
			}
			continue
		}
		opened := time.Now()
		var ok bool
		rv, ok = lw.drain(ctx, w, rv, send)
		if !ok {
			return
		}
		if time.Since(opened) < minBackoff {
			// A watch that ends at once would spin; slow down.
			if !pause() {
				return
			}
		} else {
			backoff = minBackoff
		}
	}
}

// drain forwards w's events until it closes, returning the resourceVersion
// to re-watch from ("" to re-list) and false when ctx ended.
func (lw listWatch[T]) drain(ctx context.Context, w watch.Interface, rv string, send func(change[T]) bool) (string, bool) {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv, false
		case ev, open := <-w.ResultChan():
			if !open {
				return rv, true
			}
			switch ev.Type {
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
					return "", true
				}
				return rv, true
			case watch.Bookmark:
				if m, ok := ev.Object.(metav1.Object); ok && m.GetResourceVersion() != "" {
					rv = m.GetResourceVersion()
				}
			case watch.Added, watch.Modified, watch.Deleted:
				obj, ok := ev.Object.(T)
				if !ok {
					continue
				}
				if v := obj.GetResourceVersion(); v != "" {
					rv = v
				}
				if !send(change[T]{event: ev.Type, obj: obj}) {
					return rv, false
				}
			}
		}
	}
}
