package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// config is evidentd's configuration: flags, then EVIDENTD_* environment
// variables, then the config file, then defaults.
type config struct {
	Data              string        `mapstructure:"data"`
	Addr              string        `mapstructure:"addr"`
	Catalog           string        `mapstructure:"catalog"` // store URL; default sqlite in the data dir
	Blobs             string        `mapstructure:"blobs"`   // store URL; default a directory in the data dir
	RetainDays        int           `mapstructure:"retain-days"`
	TrustedKeys       []string      `mapstructure:"trusted-key"`
	TrustedIdentities []string      `mapstructure:"trusted-identity"`
	TrustedRoot       string        `mapstructure:"trusted-root"`
	TSAChain          string        `mapstructure:"tsa-chain"`
	LogKey            string        `mapstructure:"log-key"` // note signer key file; default DATA/log.key, created on first start
	LogOrigin         string        `mapstructure:"log-origin"`
	MaxBlobSize       int64         `mapstructure:"max-blob-size"`
	MaxInFlight       int           `mapstructure:"max-in-flight"`
	MaxConns          int           `mapstructure:"max-connections"`
	TLSCert           string        `mapstructure:"tls-cert"`
	TLSKey            string        `mapstructure:"tls-key"`
	ShutdownTimeout   time.Duration `mapstructure:"shutdown-timeout"`
	LogLevel          string        `mapstructure:"log-level"`
	// Approvers are registered at start when not yet in the registry
	// (config file only).
	Approvers []approverSpec `mapstructure:"approvers"`
}

// addStoreFlags adds the flags every store-touching command shares.
func addStoreFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "config file (YAML)")
	fs.String("data", "./evidentd-data", "data directory (blobs, catalog, log key)")
	fs.String("catalog", "", "catalog URL: sqlite:///path/catalog.db or postgres://user@host:5432/db (default: DATA/catalog.db)")
	fs.String("blobs", "", "blob store URL: file:///path/blobs or s3://bucket/prefix?endpoint=URL&region=R, credentials from the standard AWS variables and files (default: DATA/blobs)")
	fs.Int("retain-days", 0, "s3:// blobs only: keep every blob under S3 Object Lock retention for this many days (the bucket needs Object Lock enabled)")
	fs.String("log-key", "", "log signing key file (default: DATA/log.key, created on first start; replicas on one catalog must share it)")
	fs.String("log-origin", "evident-archive", "the log's origin name, written into every checkpoint (set once, never change)")
}

// loadConfig reads the configuration for cmd.
func loadConfig(cmd *cobra.Command) (*config, error) {
	v := viper.New()
	v.SetEnvPrefix("EVIDENTD")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	v.SetDefault("addr", "127.0.0.1:8080")
	v.SetDefault("data", "./evidentd-data")
	v.SetDefault("log-origin", "evident-archive")
	v.SetDefault("max-blob-size", int64(8<<30))
	v.SetDefault("max-in-flight", 512)
	v.SetDefault("max-connections", 0)
	v.SetDefault("shutdown-timeout", 30*time.Second)
	v.SetDefault("log-level", "info")
	v.SetDefault("trusted-key", []string{})
	v.SetDefault("trusted-identity", []string{})
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return nil, err
	}
	if f := v.GetString("config"); f != "" {
		v.SetConfigFile(f)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config %s: %w", f, err)
		}
	}
	var c config
	if err := v.Unmarshal(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// EVIDENTD_TRUSTED_KEY may hold several comma-separated paths.
	var keys []string
	for _, k := range c.TrustedKeys {
		for _, p := range strings.Split(k, ",") {
			if p = strings.TrimSpace(p); p != "" {
				keys = append(keys, p)
			}
		}
	}
	c.TrustedKeys = keys
	if c.Data == "" {
		return nil, &usageError{fmt.Errorf("--data must not be empty")}
	}
	abs, err := filepath.Abs(c.Data)
	if err != nil {
		return nil, err
	}
	c.Data = abs
	if c.RetainDays < 0 {
		return nil, &usageError{fmt.Errorf("--retain-days %d: want a number of days, or 0 for no retention", c.RetainDays)}
	}
	return &c, nil
}
