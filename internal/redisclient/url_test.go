package redisclient

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want Endpoint
		db   int
		user string
		pass string
		addr string
	}{
		{url: "redis://h:6379", want: Endpoint{Mode: Standalone}, addr: "h:6379"},
		{url: "rediss://u:p@h:6380/2", want: Endpoint{Mode: Standalone, TLS: true}, addr: "h:6380", db: 2, user: "u", pass: "p"},
		{url: "redis+sentinel://s1:26379,s2:26380/mymaster", want: Endpoint{Mode: Sentinel, Master: "mymaster", SentinelAddrs: []string{"s1:26379", "s2:26380"}}},
		{url: "rediss+sentinel://:p@s1,s2/mymaster/3?sentinel_password=sp", db: 3, pass: "p",
			want: Endpoint{Mode: Sentinel, TLS: true, Master: "mymaster", SentinelAddrs: []string{"s1:26379", "s2:26379"}, SentinelPassword: "sp"}},
		{url: "redis+sentinel://u:p@s1:1/m?sentinel_username=su&sentinel_password=sp", user: "u", pass: "p",
			want: Endpoint{Mode: Sentinel, Master: "m", SentinelAddrs: []string{"s1:1"}, SentinelUsername: "su", SentinelPassword: "sp"}},
	} {
		ep, err := Parse(tc.url)
		if err != nil {
			t.Errorf("Parse(%s): %v", tc.url, err)
			continue
		}
		if ep.Mode != tc.want.Mode || ep.TLS != tc.want.TLS || ep.Master != tc.want.Master ||
			strings.Join(ep.SentinelAddrs, ",") != strings.Join(tc.want.SentinelAddrs, ",") ||
			ep.SentinelUsername != tc.want.SentinelUsername || ep.SentinelPassword != tc.want.SentinelPassword {
			t.Errorf("Parse(%s) = %+v, want %+v", tc.url, ep, tc.want)
		}
		if ep.Options.DB != tc.db || ep.Options.Username != tc.user || ep.Options.Password != tc.pass || (tc.addr != "" && ep.Options.Addr != tc.addr) {
			t.Errorf("Parse(%s): options %+v", tc.url, ep.Options)
		}
	}
}

func TestParseErrorsHideThePassword(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"redis://:hunter2@h:notaport", ""},
		{"http://:hunter2@h:1", "redis: invalid URL scheme: http"},
		{"redis+sentinel://:hunter2@s1/", "sentinel URL: the path must be /MASTER or /MASTER/DB, the name of the master the Sentinels monitor"},
		{"redis+sentinel://:hunter2@s1/m/x", `sentinel URL: invalid database number "x"`},
		{"redis+sentinel://:hunter2@s1:x/m", `invalid port ":x" after host`},
		{"redis+sentinel://:hunter2@s1/m?master=x", `sentinel URL: unknown parameter "master" (known: sentinel_username, sentinel_password)`},
		{":hunter2@h", `not a Redis URL: want ` + URLForms},
	} {
		_, err := Parse(tc.url)
		if err == nil || strings.Contains(err.Error(), "hunter2") || (tc.want != "" && err.Error() != tc.want) {
			t.Errorf("Parse(%s) = %v, want an error %q without the password", tc.url, err, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"redis://:pw@h:1/2":             "redis://:xxxxx@h:1/2",
		"rediss://user:pw@h:1":          "rediss://user:xxxxx@h:1",
		"redis://user@h:1":              "redis://user@h:1",
		"redis://h:1":                   "redis://h:1",
		"redis+sentinel://:p@s1,s2/m/1": "redis+sentinel://:xxxxx@s1,s2/m/1",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%s) = %s, want %s", in, got, want)
		}
	}
}
