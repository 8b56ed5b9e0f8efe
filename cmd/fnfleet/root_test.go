package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// commandsUnder lists c and every command below it, as built (cobra adds
// help and completion only when it runs).
func commandsUnder(c *cobra.Command) []*cobra.Command {
	all := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		all = append(all, commandsUnder(sub)...)
	}
	return all
}

// pathArgs is the arguments naming c, as typed after fnfleet.
func pathArgs(c *cobra.Command) []string {
	return strings.Fields(c.CommandPath())[1:]
}

// TestEveryCommandHasHelp: each command says what it does (Short, Long),
// shows how (Example), and prints its help with --help, on stdout, exit 0.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commandsUnder(newRootCommand()) {
		t.Run(c.CommandPath(), func(t *testing.T) {
			if c.Short == "" || c.Long == "" || c.Example == "" {
				t.Errorf("Short %q, Long %q, Example %q: each must say something", c.Short, c.Long, c.Example)
			}
			for _, help := range []string{"--help", "-h"} {
				code, out, errOut := runCLI(t, append(pathArgs(c), help)...)
				if code != 0 || errOut != "" {
					t.Errorf("%s %s: exit %d, stderr %q", c.CommandPath(), help, code, errOut)
				}
				for _, want := range []string{"Usage:", "Examples:", c.Example, "Flags:"} {
					if !strings.Contains(out, want) {
						t.Errorf("%s %s lacks %q:\n%s", c.CommandPath(), help, want, out)
					}
				}
			}
		})
	}
	// The root's help lists every command, whichever way it is asked for.
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 {
			t.Errorf("fnfleet %v: exit %d", args, code)
		}
		for _, want := range []string{"up", "install", "uninstall", "fn-server", "completion"} {
			if !strings.Contains(out, "\n  "+want+" ") {
				t.Errorf("fnfleet %v does not list %s:\n%s", args, want, out)
			}
		}
	}
}

// TestExamplesAreValidCommands: every fnfleet line of every Example names
// a command, with flags it has and arguments it accepts.
func TestExamplesAreValidCommands(t *testing.T) {
	n := 0
	for _, c := range commandsUnder(newRootCommand()) {
		for line := range strings.Lines(c.Example) {
			words := strings.Fields(line)
			if len(words) == 0 || words[0] != "fnfleet" {
				continue
			}
			n++
			root := newRootCommand()
			cmd, args, err := root.Find(words[1:])
			if err == nil {
				err = cmd.ParseFlags(args)
			}
			if err == nil {
				err = cmd.ValidateArgs(cmd.Flags().Args())
			}
			if err != nil {
				t.Errorf("example of %s: %s: %v", c.CommandPath(), strings.TrimSpace(line), err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no example found")
	}
}

// TestCompletion: fnfleet completion bash prints cobra's script, and the
// completions it asks for name the commands and the embedded charts.
func TestCompletion(t *testing.T) {
	code, out, errOut := runCLI(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("completion bash: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"# bash completion V2 for fnfleet", "__start_fnfleet()", "complete -o default -F __start_fnfleet fnfleet"} {
		if !strings.Contains(out, want) {
			t.Errorf("completion bash lacks %q", want)
		}
	}
	for _, shell := range []string{"zsh", "fish"} {
		if code, out, errOut := runCLI(t, "completion", shell); code != 0 || !strings.Contains(out, "fnfleet") {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, code, len(out), errOut)
		}
	}

	// What the script asks the binary when the user presses Tab.
	complete := func(args ...string) []string {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		var words []string
		for line := range strings.Lines(out) {
			if !strings.HasPrefix(line, ":") { // the last line is the directive
				words = append(words, strings.Fields(line)[0])
			}
		}
		return words
	}
	cmds := complete("")
	for _, want := range []string{"up", "install", "uninstall", "fn-server", "completion"} {
		if !slices.Contains(cmds, want) {
			t.Errorf("fnfleet <Tab> offers %v, not %s", cmds, want)
		}
	}
	if got := complete("install", ""); !slices.Equal(got, []string{"fn"}) {
		t.Errorf("fnfleet install <Tab> offers %v, want [fn]", got)
	}
	if got := complete("up", "--idle"); !slices.Equal(got, []string{"--idle-ttl"}) {
		t.Errorf("fnfleet up --idle<Tab> offers %v, want [--idle-ttl]", got)
	}
}

// TestUsageErrors: a command called wrongly says what was wrong on stderr,
// points at --help and exits 2; one that fails exits 1 and says so,
// prefixed by the command.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{nil, 2, []string{"Usage:", "Available Commands:"}},
		{[]string{"nosuch"}, 2, []string{`unknown command "nosuch"`, "Run 'fnfleet --help' for usage."}},
		{[]string{"ups"}, 2, []string{`unknown command "ups"`, "Did you mean this?", "up"}},
		{[]string{"--bogus"}, 2, []string{"unknown flag: --bogus", "Run 'fnfleet --help' for usage."}},
		{[]string{"up", "--bogus"}, 2, []string{"fnfleet up: unknown flag: --bogus", "Run 'fnfleet up --help' for usage."}},
		{[]string{"up", "--idle-ttl", "10ms"}, 2, []string{"fnfleet up: --idle-ttl 10ms: use 1s or more"}},
		{[]string{"up", "--members", "5"}, 2, []string{"fnfleet up: --members 5: use 0 to 4"}},
		{[]string{"up", "--demo", "--members", "1"}, 2, []string{"fnfleet up: --demo starts from a fleet without members"}},
		{[]string{"up", "--idle-ttl", "soon"}, 2, []string{`invalid argument "soon" for "--idle-ttl"`}},
		{[]string{"up", "extra"}, 2, []string{`fnfleet up: unexpected arguments ["extra"]`}},
		{[]string{"fn-server"}, 2, []string{"fnfleet fn-server: --data DIR is required", "Run 'fnfleet fn-server --help' for usage."}},
		{[]string{"fn-server", "--data", t.TempDir(), "extra"}, 2, []string{"fnfleet fn-server: unexpected arguments"}},
		{[]string{"fn-server", "--max-procs-per-fn", "many"}, 2, []string{`invalid argument "many" for "--max-procs-per-fn"`}},
		{[]string{"uninstall"}, 2, []string{"fnfleet uninstall: name the chart to uninstall"}},
		{[]string{"install", "fn", "--dry-run", "-f", "/nonexistent/values.yaml"}, 1, []string{"fnfleet install: read values"}},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(t, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d; stderr:\n%s", tc.args, code, tc.code, errOut)
		}
		for _, want := range tc.want {
			if !strings.Contains(errOut, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, want, errOut)
			}
		}
		if out != "" {
			t.Errorf("%v: stdout %q, want nothing", tc.args, out)
		}
	}
}

// TestCommandsGetTheContext: a command runs with the context run is given
// (main's, cancelled on SIGINT and SIGTERM): fn-server serves until it ends,
// then stops and exits 0.
func TestCommandsGetTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	args := []string{"fn-server", "--addr", "127.0.0.1:0", "--data", t.TempDir()}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &out, &errOut) }()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "Fn server on http://"); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("fn-server exited (%d) before serving: %s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("fn-server not serving after a minute: %s", errOut.String())
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("fn-server stopped by its context: exit %d: %s", code, errOut.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("fn-server still runs a minute after its context ended")
	}
}
