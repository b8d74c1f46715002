package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/agent"
	"github.com/umamiai/umami/httpapi"
	"github.com/umamiai/umami/llm"
	"github.com/umamiai/umami/llm/anthropic"
	"github.com/umamiai/umami/llm/openai"
	"github.com/umamiai/umami/llm/testmodel"
	"github.com/umamiai/umami/metrics"
	"github.com/umamiai/umami/platform"
	"github.com/umamiai/umami/postgres"
	"github.com/umamiai/umami/queue"
	"github.com/umamiai/umami/sqlite"
	"github.com/umamiai/umami/worker"
)

// Main is one "umami serve" process: it opens the store, serves HTTP, runs
// workers, and shuts down gracefully when its context ends.
type Main struct {
	Config Config
	Stdout io.Writer // the demo's export lines
	Stderr io.Writer

	log      *slog.Logger
	store    umami.Store
	platform *platform.Platform
	workers  jobRunner
	listener net.Listener
	server   *http.Server
	metrics  *metrics.Metrics
}

// jobRunner is the part of a River client that Main drives.
type jobRunner interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// Addr returns the address the server listens on, once Open has returned.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// BaseURL returns the public URL: --base-url, or http://<listen address>.
func (m *Main) BaseURL() string {
	if m.Config.BaseURL != "" {
		return strings.TrimRight(m.Config.BaseURL, "/")
	}
	return "http://" + m.Addr()
}

// Open validates the config, opens the store, listens, and prepares (but
// does not start) the workers.
func (m *Main) Open(ctx context.Context) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	m.log = newLogger(&m.Config)
	store, err := openStore(ctx, &m.Config)
	if err != nil {
		return err
	}
	m.store = store
	providers := providerRegistry(&m.Config)
	tools := agent.BuiltinTools(time.Now)
	m.platform = platform.New(platform.Config{Store: store, Providers: providerNames(), Tools: toolNames(tools), Logger: m.log})
	m.metrics = metrics.New()
	if m.Config.Role != "api" {
		w := &worker.RunWorker{Platform: m.platform, Runtime: &agent.Runtime{Models: providers, Tools: tools},
			RunTimeout: m.Config.RunTimeout, Logger: m.log, Metrics: m.metrics}
		settings := queue.Settings{MaxWorkers: m.Config.MaxWorkers, RescueAfter: m.Config.RescueAfter, Logger: m.log}
		if m.workers, err = newWorkers(store, w, settings); err != nil {
			return err
		}
	}
	if m.listener, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("--addr %s: %w", m.Config.Addr, err)
	}
	api := httpapi.New(httpapi.Config{Platform: m.platform, Logger: m.log, Ready: store.Ping,
		APIDisabled: m.Config.Role == "worker", Metrics: m.metrics})
	m.server = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)}
	return nil
}

// Run serves until ctx ends, then shuts down: the listener stops accepting,
// requests in flight finish, workers stop taking jobs and finish theirs
// (within --shutdown-timeout; runs still going are resumed by another node
// or on restart), and the store closes.
func (m *Main) Run(ctx context.Context) error {
	if m.Config.Demo {
		if err := m.demo(ctx); err != nil {
			return err
		}
	}
	if m.workers != nil {
		// River hard-stops (cancels running jobs) when its start context
		// ends; shutdown stops it gracefully instead.
		if err := m.workers.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
	}
	maintCtx, stopMaint := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMaint()
	maintDone := make(chan struct{})
	go func() { defer close(maintDone); m.platform.RunMaintenance(maintCtx, m.workers != nil) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- m.server.Serve(m.listener) }()
	m.log.Info("umami serving", "addr", m.Addr(), "base_url", m.BaseURL(), "role", m.Config.Role, "version", umami.Version)
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	shutdownErr := m.shutdown()
	stopMaint()
	<-maintDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, shutdownErr, m.store.Close())
}

func (m *Main) shutdown() error {
	m.log.Info("shutting down", "timeout", m.Config.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	err := m.server.Shutdown(ctx)
	if m.workers != nil {
		if werr := m.workers.Stop(ctx); werr != nil {
			m.log.Warn("workers did not finish in time; canceling the rest", "err", werr)
			cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer ccancel()
			err = errors.Join(err, m.workers.StopAndCancel(cctx))
		}
	}
	return err
}

// openStore opens the database the config names: PostgreSQL when
// --database-url is set, else SQLite in the data dir.
func openStore(ctx context.Context, c *Config) (umami.Store, error) {
	if c.DatabaseURL != "" {
		db, err := postgres.Open(ctx, c.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("--database-url: %w", err)
		}
		return db, nil
	}
	return sqlite.Open(ctx, c.SQLitePath())
}

// newWorkers builds the River client that executes runs on store. SQLite
// has no LISTEN/NOTIFY and River wakes its producer on an insert only
// outside a transaction (ours never are), so the SQLite worker polls every
// 10 ms: one short statement on the in-process writer. PostgreSQL workers
// are woken by notifications.
func newWorkers(store umami.Store, w *worker.RunWorker, s queue.Settings) (jobRunner, error) {
	switch st := store.(type) {
	case *sqlite.DB:
		s.PollInterval = 10 * time.Millisecond
		return worker.NewClient(st.RiverDriver(), w, s)
	case *postgres.DB:
		return worker.NewClient(st.RiverDriver(), w, s)
	default:
		return nil, fmt.Errorf("no workers for store %T", store)
	}
}

// providerRegistry configures the model providers: the test model always,
// OpenAI (or a compatible server) and Anthropic when a key or URL is set.
func providerRegistry(c *Config) llm.Registry {
	r := llm.Registry{"test": testmodel.New()}
	if c.OpenAIAPIKey != "" || c.OpenAIBaseURL != "" {
		r["openai"] = openai.New(openai.Config{APIKey: c.OpenAIAPIKey, BaseURL: c.OpenAIBaseURL})
	}
	if c.AnthropicAPIKey != "" {
		r["anthropic"] = anthropic.New(anthropic.Config{APIKey: c.AnthropicAPIKey, BaseURL: c.AnthropicBaseURL})
	}
	return r
}

// providerNames are the providers a version may name, configured or not: a
// run on an unconfigured one fails with model_unavailable.
func providerNames() []string { return []string{"openai", "anthropic", "test"} }

func toolNames(tools map[string]agent.Tool) []string {
	var names []string
	for n := range tools {
		names = append(names, n)
	}
	return names
}

// demo creates the demo data once and prints the guide's four exports. On
// later starts it prints them again, with BASE_URL brought up to date (the
// key itself exists only in demo.env: only its hash is stored).
func (m *Main) demo(ctx context.Context) error {
	path := filepath.Join(m.Config.DataDir, "demo.env")
	if b, err := os.ReadFile(path); err == nil {
		return m.writeDemo(path, withBaseURL(string(b), m.BaseURL()))
	}
	model := "test/echo"
	if m.Config.OpenAIAPIKey != "" {
		model = "openai/gpt-4o-mini"
	}
	d, err := m.platform.CreateDemo(ctx, model)
	if err != nil {
		return fmt.Errorf("create demo: %w", err)
	}
	fmt.Fprintf(m.Stderr, "Demo created (model %s). Console login: %s / %s\nThe exports below are saved in %s.\n",
		model, d.Email, d.Password, path)
	return m.writeDemo(path, fmt.Sprintf("export BASE_URL=%q\nexport UMAMI_API_KEY=%q\nexport ORG_ID=%q\nexport AGENT_VERSION_ID=%q\n",
		m.BaseURL(), d.Key.Secret, d.Org.ID, d.Version.ID))
}

// writeDemo saves the exports (owner-only: they hold a full-access key) and
// prints them.
func (m *Main) writeDemo(path, exports string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(exports), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err := io.WriteString(m.Stdout, exports)
	return err
}

// withBaseURL replaces the BASE_URL line of saved exports.
func withBaseURL(exports, baseURL string) string {
	lines := strings.SplitAfter(exports, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "export BASE_URL=") {
			lines[i] = fmt.Sprintf("export BASE_URL=%q\n", baseURL)
		}
	}
	return strings.Join(lines, "")
}
