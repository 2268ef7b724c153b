package cmd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
)

// itemReader splits input into items: lines (a trailing "\r" dropped, empty
// lines skipped) or, with nul, NUL-terminated records that may hold newlines.
// Items are bytes and need not be UTF-8.
type itemReader struct {
	r     *bufio.Reader
	delim byte
	crlf  bool
	arena []byte
}

func newItemReader(r io.Reader, nul bool) *itemReader {
	ir := &itemReader{r: bufio.NewReaderSize(r, 1<<20), delim: '\n', crlf: true}
	if nul {
		ir.delim, ir.crlf = 0, false
	}
	return ir
}

// next returns the next item, or io.EOF. The item stays valid after later
// calls: items are carved out of large shared buffers rather than allocated
// one by one, which matters at a million items.
func (ir *itemReader) next() ([]byte, error) {
	for {
		line, err := ir.r.ReadSlice(ir.delim)
		if errors.Is(err, bufio.ErrBufferFull) {
			// An item longer than the buffer: collect it whole.
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = ir.r.ReadSlice(ir.delim)
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		line = bytes.TrimSuffix(line, []byte{ir.delim})
		if ir.crlf {
			line = bytes.TrimSuffix(line, []byte{'\r'})
		}
		if len(line) == 0 {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			continue
		}
		return ir.keep(line), nil
	}
}

func (ir *itemReader) keep(b []byte) []byte {
	if len(b) > cap(ir.arena)-len(ir.arena) {
		ir.arena = make([]byte, 0, max(1<<20, len(b)))
	}
	start := len(ir.arena)
	ir.arena = append(ir.arena, b...)
	return ir.arena[start:len(ir.arena):len(ir.arena)]
}

// dedup notices repeated items. Without unique it only counts them, in 8
// bytes an item (a collision costs at most a wrong count in a warning); with
// unique it keeps every item so that none is dropped by mistake.
type dedup struct {
	unique bool
	seed   maphash.Seed
	hashes map[uint64]struct{}
	exact  map[string]struct{}
	dups   int64
}

func newDedup(unique bool) *dedup {
	d := &dedup{unique: unique, seed: maphash.MakeSeed()}
	if unique {
		d.exact = map[string]struct{}{}
	} else {
		d.hashes = map[uint64]struct{}{}
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
		h := maphash.Bytes(d.seed, item)
		_, dup = d.hashes[h]
		if !dup {
			d.hashes[h] = struct{}{}
		}
	}
	if dup {
		d.dups++
	}
	return dup
}

func (d *dedup) warning() string {
	if d.dups == 0 || d.unique {
		return ""
	}
	return fmt.Sprintf("Warning: %d duplicate items: the queue protocol assumes unique items (duplicates share one lease); pass --unique to skip them", d.dups)
}
