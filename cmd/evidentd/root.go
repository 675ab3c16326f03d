package main

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

func rootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "evidentd",
		Short:         "The evident archive server",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(serveCommand(stdout, stderr), tokenCommand(stdout, stderr), approverCommand(stdout, stderr), fsckCommand(stdout, stderr),
		logkeyCommand(stdout, stderr), healthcheckCommand(stdout, stderr))
	return root
}

// newLogger returns the server's JSON logger at level.
func newLogger(w io.Writer, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
}

func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return &usageError{err}
	}
	return nil
}
