package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/kubectl-workqueue/kubectl-workqueue/internal/itemcmd"
	"github.com/kubectl-workqueue/kubectl-workqueue/pkg/workerenv"
)

// maxEnvItem bounds the items passed in $WORKQUEUE_ITEM; Linux refuses to
// start a process with one environment string over 128 KiB.
const maxEnvItem = 64 << 10

// waitDelay bounds how long output is still copied after COMMAND exits, in
// case a process it started in the background holds its stdout or stderr.
const waitDelay = 2 * time.Second

// commander runs the user's command for an item.
type commander struct {
	args     []string // COMMAND ARGS..., with {} for the item
	env      []string // the worker's environment
	out      *streams
	stopping <-chan struct{} // closed when the worker is told to stop
	// timeout bounds one run of the command (0: none); killGrace is how long
	// it may take to exit after SIGTERM.
	timeout   time.Duration
	killGrace time.Duration
}

// handle runs the command on item; a non-zero exit is an error that names
// the exit status and the command's last line on stderr. When the worker is
// told to stop, or the command has run for the timeout, the command's
// process group gets SIGTERM; it gets SIGKILL when ctx is cancelled (the
// shutdown grace is over) or killGrace after the timeout.
func (c *commander) handle(ctx context.Context, item []byte) error {
	argv := itemcmd.Substitute(c.args, item)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(item)
	cmd.Env = itemEnv(c.env, item)
	// Its own process group, so that signals reach what it starts too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay
	stdout, stderr := c.out.forChild()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	stopping, done := c.stopping, ctx.Done()
	var timeout, kill <-chan time.Time
	if c.timeout > 0 {
		t := time.NewTimer(c.timeout)
		defer t.Stop()
		timeout = t.C
	}
	timedOut := false
	for {
		select {
		case err := <-waited:
			stdout.Close()
			stderr.Close()
			last := stderr.LastLine()
			switch {
			case timedOut:
				// Whatever it exited with, it was stopped for taking too long.
				msg := "timed out after " + c.timeout.String()
				if last != "" {
					msg += ": " + last
				}
				return errors.New(msg)
			// Exit 0 completes the item, even when something the command
			// left running in the background still holds its output open.
			case err == nil || errors.Is(err, exec.ErrWaitDelay):
				return nil
			}
			var exitErr *exec.ExitError
			if last != "" && errors.As(err, &exitErr) {
				return errors.New(exitErr.Error() + ": " + last)
			}
			return err
		case <-stopping:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			stopping = nil
		case <-timeout:
			timedOut = true
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			t := time.NewTimer(c.killGrace)
			defer t.Stop()
			timeout, kill = nil, t.C
		case <-kill:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			kill = nil
		case <-done:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			done = nil
		}
	}
}

// itemEnv is env with WORKQUEUE_ITEM set to item, when item can be an
// environment variable's value, and removed otherwise.
func itemEnv(env []string, item []byte) []string {
	prefix := workerenv.Item + "="
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	if len(item) <= maxEnvItem && utf8.Valid(item) && bytes.IndexByte(item, 0) < 0 {
		out = append(out, prefix+string(item))
	}
	return out
}
