package podlogs

import (
	"hash/fnv"
	"strconv"
)

// palette holds the ANSI foreground colours pods are given: the normal and
// bright variants of red through cyan (no black or white, which vanish on
// one terminal background or the other).
var palette = []int{31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96}

// podColor returns the ANSI escape that starts pod's colour. The colour is
// derived from an FNV-1a hash of the name, so a pod keeps its colour across
// runs and streams.
func podColor(pod string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pod))
	return "\x1b[" + strconv.Itoa(palette[h.Sum32()%uint32(len(palette))]) + "m"
}

const colorReset = "\x1b[0m"
