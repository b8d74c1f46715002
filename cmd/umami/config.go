package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/umamiai/umami/queue"
)

// Config is every setting of "umami serve". Each flag has a UMAMI_*
// environment equivalent (flag wins); provider keys use the providers' own
// variable names.
type Config struct {
	Addr            string
	DataDir         string
	DatabaseURL     string
	BaseURL         string
	Demo            bool
	Role            string
	LogLevel        string
	LogFormat       string
	RunTimeout      time.Duration
	MaxWorkers      int
	ShutdownTimeout time.Duration
	RescueAfter     time.Duration

	OpenAIAPIKey     string
	OpenAIBaseURL    string
	AnthropicAPIKey  string
	AnthropicBaseURL string
}

// env returns the environment value of name, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// storeFlags registers the flags that say where the data lives; every
// subcommand that touches the database has them.
func storeFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.DataDir, "data-dir", env("UMAMI_DATA_DIR", "./data"), "directory for the SQLite database and demo.env (UMAMI_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("UMAMI_DATABASE_URL", ""), "PostgreSQL URL; empty means SQLite in the data dir (UMAMI_DATABASE_URL)")
}

// serveFlags registers the flags of "umami serve".
func serveFlags(fs *flag.FlagSet, c *Config) {
	storeFlags(fs, c)
	fs.StringVar(&c.Addr, "addr", env("UMAMI_ADDR", "127.0.0.1:8080"), "address to listen on (UMAMI_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", env("UMAMI_BASE_URL", ""), "public URL used in links and exports; default http://<addr> (UMAMI_BASE_URL)")
	fs.BoolVar(&c.Demo, "demo", env("UMAMI_DEMO", "") == "true", "create (once) a demo org, agent version and API key, and print them (UMAMI_DEMO=true)")
	fs.StringVar(&c.Role, "role", env("UMAMI_ROLE", "all"), "all, api or worker; SQLite allows only all (UMAMI_ROLE)")
	fs.StringVar(&c.LogLevel, "log-level", env("UMAMI_LOG_LEVEL", "info"), "debug, info, warn or error (UMAMI_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("UMAMI_LOG_FORMAT", "text"), "text or json (UMAMI_LOG_FORMAT)")
	fs.DurationVar(&c.RunTimeout, "run-timeout", envDuration("UMAMI_RUN_TIMEOUT", 5*time.Minute), "time limit of one run attempt (UMAMI_RUN_TIMEOUT)")
	fs.IntVar(&c.MaxWorkers, "max-workers", envInt("UMAMI_MAX_WORKERS", 500), "runs executed at once on this node (UMAMI_MAX_WORKERS)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envDuration("UMAMI_SHUTDOWN_TIMEOUT", 30*time.Second), "how long SIGTERM waits for requests and runs in flight (UMAMI_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.RescueAfter, "rescue-after", envDuration("UMAMI_RESCUE_AFTER", 0), "a run attempt running this long is presumed lost and resumed; must exceed run-timeout + 2s; default run-timeout + 1m2s (UMAMI_RESCUE_AFTER)")
	c.OpenAIAPIKey = os.Getenv("OPENAI_API_KEY")
	c.OpenAIBaseURL = os.Getenv("OPENAI_BASE_URL")
	c.AnthropicAPIKey = os.Getenv("ANTHROPIC_API_KEY")
	c.AnthropicBaseURL = os.Getenv("ANTHROPIC_BASE_URL")
}

// Validate checks the configuration once, with messages that name the flag.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q: want host:port, e.g. 127.0.0.1:8080", c.Addr)
	}
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	switch c.Role {
	case "all", "api", "worker":
	default:
		return fmt.Errorf("--role %q: want all, api or worker", c.Role)
	}
	if c.DatabaseURL == "" && c.Role != "all" {
		return fmt.Errorf("--role %s needs --database-url (PostgreSQL): with the embedded SQLite store one process serves and works, so only --role all is allowed", c.Role)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	if c.RunTimeout <= 0 {
		return fmt.Errorf("--run-timeout must be positive")
	}
	if min := queue.MinRescueAfter(c.RunTimeout); c.RescueAfter != 0 && c.RescueAfter <= min {
		return fmt.Errorf("--rescue-after %s must exceed --run-timeout plus %s (%s): a run may legitimately take that long",
			c.RescueAfter, queue.JobTimeoutGrace, min)
	}
	if c.MaxWorkers < 1 || c.MaxWorkers > 10_000 {
		return fmt.Errorf("--max-workers must be between 1 and 10000")
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return fmt.Errorf("--base-url %q must start with http:// or https://", c.BaseURL)
	}
	return nil
}

// SQLitePath is where the embedded database lives.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "umami.db") }

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(c *Config) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
