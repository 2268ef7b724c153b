// Package listwatch lists and watches one kind of object and reports every
// change on a channel. It is a small stand-in for client-go's informers
// (tools/cache), which would pull a module the project does not require.
package listwatch

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/clock"
)

// ListWatch lists and watches one kind of object.
type ListWatch[T metav1.Object] struct {
	// List returns every object and the resourceVersion to watch from.
	List func(ctx context.Context) (items []T, resourceVersion string, err error)
	// Watch watches from resourceVersion.
	Watch func(ctx context.Context, resourceVersion string) (watch.Interface, error)

	// clock replaces the real clock (of the back-off) in tests.
	clock clock.Clock
}

// Change is what Run reports: a complete list after a re-list (Type is
// empty), or one watch event.
type Change[T metav1.Object] struct {
	// Relist is every object, after a re-list.
	Relist []T
	// Type is Added, Modified or Deleted for a watch event, "" for a re-list.
	Type watch.EventType
	// Object is the object of a watch event.
	Object T
}

const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// Run watches from resourceVersion (the caller did the first List) and sends
// every change to out until ctx ends. When a watch closes it is re-opened
// from the last resourceVersion seen; when that version has expired (410) or
// requests fail, it lists again, backing off while the API keeps failing.
// An empty resourceVersion makes it list first.
func (lw ListWatch[T]) Run(ctx context.Context, resourceVersion string, out chan<- Change[T]) {
	clk := lw.clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	backoff := minBackoff
	pause := func() bool {
		t := clk.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, maxBackoff)
		select {
		case <-t.C():
			return true
		case <-ctx.Done():
			return false
		}
	}
	send := func(c Change[T]) bool {
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
			items, listRV, err := lw.List(ctx)
			if err != nil {
				if !pause() {
					return
				}
				continue
			}
			if !send(Change[T]{Relist: items}) {
				return
			}
			rv = listRV
		}
		w, err := lw.Watch(ctx, rv)
		if err != nil {
			if expired(err) {
				rv = ""
			}
			if !pause() {
				return
			}
			continue
		}
		opened := clk.Now()
		var ok bool
		rv, ok = drain(ctx, w, rv, send)
		if !ok {
			return
		}
		if clk.Since(opened) < minBackoff {
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
func drain[T metav1.Object](ctx context.Context, w watch.Interface, rv string, send func(Change[T]) bool) (string, bool) {
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
				if expired(apierrors.FromObject(ev.Object)) {
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
				if !send(Change[T]{Type: ev.Type, Object: obj}) {
					return rv, false
				}
			}
		}
	}
}

// Key identifies obj among the objects of a List and its watch, for maps: a
// pod deleted and created again with the same name is another pod.
func Key(obj metav1.Object) string {
	if uid := obj.GetUID(); uid != "" {
		return string(uid)
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// expired says the resourceVersion to watch from is too old: list again.
func expired(err error) bool {
	return apierrors.IsGone(err) || apierrors.IsResourceExpired(err)
}
