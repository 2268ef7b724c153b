package cmd

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"io"
	"strings"
	"sync"
)

// chunkSize is how much input one read asks for.
const chunkSize = 256 << 10

// itemReader reads the input on a goroutine of its own and hands it over in
// chunks of whole items, so that seed can push a partial batch when the input
// pauses and push what was read when it is interrupted, while a read waits.
// Items are lines (a trailing "\r" dropped, empty lines skipped) or, with
// nul, NUL-terminated records that may hold newlines; they are bytes and need
// not be UTF-8.
type itemReader struct {
	chunks chan []byte // closed when reading ends; then eof or err says why
	free   chan []byte
	stop   chan struct{}
	once   sync.Once
	eof    bool // the whole input was read
	err    error
	delim  byte
	crlf   bool
}

func newItemReader(r io.Reader, nul bool) *itemReader {
	ir := &itemReader{
		chunks: make(chan []byte, 4),
		free:   make(chan []byte, 6),
		stop:   make(chan struct{}),
		delim:  '\n',
		crlf:   true,
	}
	if nul {
		ir.delim, ir.crlf = 0, false
	}
	go ir.read(r)
	return ir
}

// read sends the input in chunks that end with a delimiter; the last one
// may lack it. An item longer than a chunk makes its chunk grow.
func (ir *itemReader) read(r io.Reader) {
	defer close(ir.chunks)
	buf := make([]byte, 0, chunkSize)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		last := bytes.LastIndexByte(buf[len(buf):len(buf)+n], ir.delim)
		if last >= 0 {
			last += len(buf)
		}
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			last = len(buf) - 1 // the last item needs no delimiter
		}
		if last >= 0 {
			next := ir.buffer()
			next = append(next, buf[last+1:]...)
			if !ir.send(buf[:last+1]) {
				return
			}
			buf = next
		}
		if err == io.EOF {
			ir.eof = true
			return
		}
		if err != nil {
			ir.err = fmt.Errorf("reading items: %w", err)
			return
		}
	}
}

func (ir *itemReader) send(chunk []byte) bool {
	if len(chunk) == 0 {
		return true
	}
	select {
	case ir.chunks <- chunk:
		return true
	case <-ir.stop:
		return false
	}
}

func (ir *itemReader) buffer() []byte {
	select {
	case b := <-ir.free:
		return b[:0]
	default:
		return make([]byte, 0, chunkSize)
	}
}

// release takes back a chunk whose items are no longer needed.
func (ir *itemReader) release(chunk []byte) {
	if cap(chunk) != chunkSize {
		return // grown for a long item: let it go
	}
	select {
	case ir.free <- chunk:
	default:
	}
}

// close stops reading; a read that waits for input is left to end with the
// process.
func (ir *itemReader) close() { ir.once.Do(func() { close(ir.stop) }) }

// each calls fn with every item of chunk, in order; the item is valid until
// the chunk is released.
func (ir *itemReader) each(chunk []byte, fn func(item []byte) error) error {
	for len(chunk) > 0 {
		item := chunk
		if i := bytes.IndexByte(chunk, ir.delim); i >= 0 {
			item, chunk = chunk[:i], chunk[i+1:]
		} else {
			chunk = nil
		}
		if ir.crlf && len(item) > 0 && item[len(item)-1] == '\r' {
			item = item[:len(item)-1]
		}
		if len(item) == 0 {
			continue
		}
		if err := fn(item); err != nil {
			return err
		}
	}
	return nil
}

// dedup notices repeated items. Without unique it only counts them, in a
// table of 64-bit hashes of at most maxHashSlots (a collision costs at most a
// wrong count in a warning); with unique it keeps every item so that none is
// dropped by mistake.
type dedup struct {
	unique bool
	seed   maphash.Seed
	hashes hashSet
	exact  map[string]struct{}
	dups   int64
	items  int64
}

func newDedup(unique bool) *dedup {
	d := &dedup{unique: unique, seed: maphash.MakeSeed()}
	if unique {
		d.exact = map[string]struct{}{}
	}
	return d
}

// seen reports whether item came before (and counts it).
func (d *dedup) seen(item []byte) bool {
	var dup bool
	if d.unique {
		_, dup = d.exact[string(item)]
		if !dup {
			d.exact[string(item)] = struct{}{}
		}
	} else {
		dup = d.hashes.add(maphash.Bytes(d.seed, item))
	}
	if dup {
		d.dups++
	}
	d.items++
	return dup
}

func (d *dedup) warning() string {
	if d.unique {
		return ""
	}
	var w []string
	if d.dups > 0 {
		w = append(w, fmt.Sprintf("Warning: %d duplicate items: each copy is worked on, as an item of its own; pass --unique to skip them (and items the queue holds already)", d.dups))
	}
	if d.hashes.full {
		w = append(w, fmt.Sprintf("Warning: duplicates were looked for only among the first %d of the %d items; --unique looks through all of them (keeping every item in memory)", d.hashes.checked, d.items))
	}
	return strings.Join(w, "\n")
}

// maxHashSlots bounds the duplicate check's memory (8 bytes a slot, 32 MiB)
// for inputs of many millions of items. A variable for the tests.
var maxHashSlots = 1 << 22

// hashSet is a set of 64-bit hashes: open addressing with linear probing,
// a fraction of the memory of a Go map and about one cache miss a lookup,
// which is most of what seeding a large file costs the CPU. Once it would
// grow past maxHashSlots it is full: it still finds what it holds, and
// counts in checked how many additions it saw before.
type hashSet struct {
	slots   []uint64
	n       int64
	full    bool
	checked int64
}

// add adds x and reports whether it was there already.
func (h *hashSet) add(x uint64) bool {
	if x == 0 {
		x = 1 // 0 marks an empty slot
	}
	if h.slots == nil {
		h.slots = make([]uint64, 1<<16)
	}
	if !h.full {
		h.checked++
	}
	mask := uint64(len(h.slots) - 1)
	for i := x & mask; ; i = (i + 1) & mask {
		switch h.slots[i] {
		case x:
			return true
		case 0:
			if h.full {
				return false
			}
			h.slots[i] = x
			h.n++
			if h.n*4 >= int64(len(h.slots))*3 {
				h.grow()
			}
			return false
		}
	}
}

func (h *hashSet) grow() {
	if len(h.slots) >= maxHashSlots {
		h.full = true
		return
	}
	old := h.slots
	h.slots = make([]uint64, 2*len(old))
	mask := uint64(len(h.slots) - 1)
	for _, x := range old {
		if x == 0 {
			continue
		}
		i := x & mask
		for h.slots[i] != 0 {
			i = (i + 1) & mask
		}
		h.slots[i] = x
	}
}
