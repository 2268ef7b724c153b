package cmd

import "github.com/spf13/cobra"

// redisFlags say how the CLI reaches the queue's Redis.
type redisFlags struct {
	service        string
	port           string
	url            string
	passwordSecret string
}

func (r *redisFlags) addFlags(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&r.service, "redis-service", "redis", "Service in front of the queue's Redis; the CLI port-forwards to one of its ready pods")
	fs.StringVar(&r.port, "redis-port", "6379", "the Service's port (number or name) that Redis listens on")
	fs.StringVar(&r.url, "redis-url", "", "connect to Redis directly at redis://[:password@]host:port[/db] instead of through the Service")
	fs.StringVar(&r.passwordSecret, "redis-password-secret", "", "Secret NAME[:KEY] holding the Redis password (default: the Secret made by 'init', if present; or $REDISCLI_AUTH)")
}
