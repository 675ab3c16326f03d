package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/evidence"
)

// app holds what every command shares: the process's streams and
// environment, injected so that tests run commands in-process.
type app struct {
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
	logLevel  string
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "evident",
		Short: "Signed, archived release evidence for regulated software",
		Long: `evident turns a CI pipeline's outputs into a signed release record: per component
the released artifacts, build provenance, test results, SOUP and evaluated anomalies,
checked against an IEC 62304 safety-class policy, and verifiable offline for years.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRunE,
	}
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		a.keyCommand(),
		a.collectCommand(),
		a.sealCommand(),
		a.verifyCommand(),
		a.pushCommand(),
		a.lookupCommand(),
		a.showCommand(),
		a.historyCommand(),
		a.diffCommand(),
		a.exportCommand(),
		a.statusCommand(),
		a.approveCommand(evidence.DecisionApproved),
		a.approveCommand(evidence.DecisionRejected),
		a.approveCommand(evidence.DecisionRevoked),
		a.summaryCommand(),
		a.githubCommand(),
	)
	return root
}

// logger returns a text logger on stderr at the chosen level.
func (a *app) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		lvl = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: lvl}))
}

// env returns the value of an environment variable, or "".
func (a *app) env(key string) string {
	if a.lookupEnv == nil {
		return ""
	}
	v, _ := a.lookupEnv(key)
	return v
}

// bindEnv lets flags default from EVIDENT_* variables (--server from
// EVIDENT_SERVER, ...): a flag given on the command line wins, then the
// environment, then the flag's default.
func (a *app) bindEnv(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		f := cmd.Flags().Lookup(n)
		if f == nil {
			return fmt.Errorf("no flag %q", n)
		}
		env := "EVIDENT_" + strings.ToUpper(strings.ReplaceAll(n, "-", "_"))
		if val := a.env(env); val != "" && !f.Changed {
			if err := f.Value.Set(val); err != nil {
				return &usageError{fmt.Errorf("%s=%q: %v", env, val, err)}
			}
		}
	}
	return nil
}

// groupRunE runs a command that only groups others (evident, evident key):
// without arguments it shows the help; an argument is an unknown command,
// a usage error. Without it cobra reports an unknown command as a plain
// error (exit 1) at the top and shows the help (exit 0) below it.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default for its message
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &usageError{errors.New(msg)}
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// noArgs is cobra.NoArgs with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return &usageError{err}
	}
	return nil
}
