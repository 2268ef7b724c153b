package queue

import (
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// keyCheck goes before every script under test: it makes redis.call and
// redis.pcall refuse a key that the script was not given in KEYS. A Redis
// Cluster routes a script by its declared keys, and only those are known to
// be in the slot the script runs in, so an undeclared key is a script that
// works on one Redis and breaks (or, worse, silently reads another node's
// empty key) on a Cluster. Redis names the keys of any command itself
// (COMMAND GETKEYS), so no list of commands is kept here.
const keyCheck = `
local declared = {}
for _, k in ipairs(KEYS) do declared[k] = true end
local real = redis
local function check(cmd, ...)
  local ok, keys = pcall(real.call, 'COMMAND', 'GETKEYS', cmd, ...)
  if not ok then return end -- a command without keys
  for _, k in ipairs(keys) do
    if not declared[k] then
      error({err = 'UNDECLARED ' .. cmd .. ' touches key ' .. k .. ', which is not in KEYS'})
    end
  end
end
local redis = setmetatable({
  call = function(cmd, ...) check(cmd, ...); return real.call(cmd, ...) end,
  pcall = function(cmd, ...) check(cmd, ...); return real.pcall(cmd, ...) end,
}, {__index = real})
`

// checkDeclaredKeys puts keyCheck before every script of the package, so
// that all of this package's tests fail on a script that touches a key it
// does not declare. Benchmarks run the scripts as they ship.
func checkDeclaredKeys() {
	if flag.Lookup("test.bench").Value.String() != "" {
		return
	}
	for s, src := range scripts {
		*s = *redis.NewScript(keyCheck + src)
	}
}

func TestKeyCheckCatchesAnUndeclaredKey(t *testing.T) {
	rdb := testClient(t)
	ctx := context.Background()
	bad := newScript(`redis.call('SET', KEYS[1], 'x'); return redis.call('GET', KEYS[1] .. ':other')`)
	defer delete(scripts, bad)
	checkDeclaredKeys()
	err := bad.Run(ctx, rdb, []string{"k"}).Err()
	if err == nil || !strings.Contains(err.Error(), "UNDECLARED GET touches key k:other, which is not in KEYS") {
		t.Fatalf("err = %v, want the undeclared key named", err)
	}
	good := newScript(`return redis.call('GET', KEYS[1])`)
	defer delete(scripts, good)
	checkDeclaredKeys()
	if v, err := good.Run(ctx, rdb, []string{"k"}).Text(); err != nil || v != "x" {
		t.Fatalf("a script that declares its key: %q, %v", v, err)
	}
}
