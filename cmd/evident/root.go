package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
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
	}
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		a.keyCommand(),
		a.collectCommand(),
		a.sealCommand(),
		a.verifyCommand(),
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
