// Package httpapi serves an api.Archive over HTTP: JSON for requests and
// responses, streamed bodies for blobs and audit packs, bearer tokens for
// authentication, and one table that maps error kinds to status codes.
//
// Handlers return errors; one adapter writes the status, the JSON error body
// {code, message} and the log line. Every route is listed once, in routes,
// which both registers it and is checked against the OpenAPI document.
package httpapi

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/evidence"
)

//go:embed openapi.json
var openapiFS embed.FS

// Authenticator turns a bearer token into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Principal, error)
}

// Config configures the handler.
type Config struct {
	Archive api.Archive
	Auth    Authenticator
	// Ready reports whether the stores can serve requests (/readyz).
	Ready func(ctx context.Context) error
	Log   *slog.Logger
	// Registry receives the server's metrics (a fresh one when nil).
	Registry *prometheus.Registry
	// MaxBlobSize bounds one uploaded blob (default 8 GiB).
	MaxBlobSize int64
	// MaxInFlight bounds requests handled at once; more get 503 at once
	// (default 512).
	MaxInFlight int
}

// Limits on request bodies that are not blobs.
const maxJSONBody = 4 << 20

// Server is the HTTP handler.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	log      *slog.Logger
	inflight chan struct{}
	metrics  *metrics
	openapi  []byte
	badPath  http.Handler
}

// route is one endpoint.
type route struct {
	method, pattern string
	handler         func(w http.ResponseWriter, r *http.Request) error
	public          bool // no token needed
	probe           bool // a health probe: exempt from the in-flight limit
}

// errBusy answers requests over the in-flight limit.
var errBusy = &evidence.Error{Kind: evidence.KindInternal, Message: "the server is busy; retry shortly"}

// New returns the handler.
func New(cfg Config) (*Server, error) {
	if cfg.Archive == nil || cfg.Auth == nil {
		return nil, errors.New("httpapi: archive and authenticator are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxBlobSize <= 0 {
		cfg.MaxBlobSize = 8 << 30
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 512
	}
	doc, err := openapiFS.ReadFile("openapi.json")
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, mux: http.NewServeMux(), log: cfg.Log,
		inflight: make(chan struct{}, cfg.MaxInFlight), metrics: newMetrics(cfg.Registry), openapi: doc,
	}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	s.badPath = s.wrap(route{pattern: "(non-canonical path)", public: true, handler: func(w http.ResponseWriter, r *http.Request) error {
		return evidence.Errorf(evidence.KindInvalid, "request path %q has empty, '.' or '..' segments", r.URL.Path)
	}})
	// Anything else: a JSON 404, not the mux's text.
	s.mux.Handle("/", s.wrap(route{pattern: "/", public: true, handler: func(w http.ResponseWriter, r *http.Request) error {
		return evidence.Errorf(evidence.KindNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}}))
	return s, nil
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/healthz", s.healthz, true, true},
		{"GET", "/readyz", s.readyz, true, true},
		{"GET", "/openapi.json", s.openapiDoc, true, false},
		{"POST", "/api/v1/blobs/missing", s.missingBlobs, false, false},
		{"PUT", "/api/v1/blobs/{digest}", s.putBlob, false, false},
		{"GET", "/api/v1/blobs/{digest}", s.getBlob, false, false},
		{"HEAD", "/api/v1/blobs/{digest}", s.getBlob, false, false},
		{"POST", "/api/v1/releases", s.pushRelease, false, false},
		{"GET", "/api/v1/products", s.products, false, false},
		{"GET", "/api/v1/products/{product}/releases", s.history, false, false},
		{"GET", "/api/v1/products/{product}/releases/{version}", s.release, false, false},
		{"GET", "/api/v1/products/{product}/releases/{version}/pack", s.exportPack, false, false},
		{"GET", "/api/v1/artifacts/{digest}", s.findArtifact, false, false},
		{"GET", "/api/v1/components/{name}/versions/{version}", s.findComponent, false, false},
		{"GET", "/api/v1/soup", s.findSOUP, false, false},
		{"POST", "/api/v1/approvals", s.submitApproval, false, false},
		{"GET", "/api/v1/products/{product}/releases/{version}/status", s.status, false, false},
		{"GET", "/api/v1/log", s.logInfo, false, false},
		{"GET", "/api/v1/log/proofs/{index}", s.logProof, false, false},
	}
}

// ServeHTTP implements http.Handler. A path with empty (a trailing slash
// too), "." or ".." segments is refused as it stands: no route has one, and
// the mux would redirect it to another resource, which is never what a
// client of this API meant.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.EscapedPath(); p != path.Clean("/"+p) {
		s.badPath.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// statusOf is the one table from error kinds to HTTP status codes.
func statusOf(k evidence.Kind) int {
	switch k {
	case evidence.KindInvalid:
		return http.StatusBadRequest
	case evidence.KindNotFound:
		return http.StatusNotFound
	case evidence.KindConflict:
		return http.StatusConflict
	case evidence.KindUnauthorized:
		return http.StatusUnauthorized
	case evidence.KindForbidden:
		return http.StatusForbidden
	case evidence.KindVerification, evidence.KindPolicy:
		return http.StatusUnprocessableEntity
	case evidence.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// statusWriter records the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status  int
	written int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap adapts a route: admission control, authentication, the error
// adapter, the log line and metrics.
func (s *Server) wrap(rt route) http.Handler {
	label := rt.method + " " + rt.pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		// Health probes are never refused for load: a liveness probe that
		// sees 503 on a busy server would restart it.
		if !rt.probe {
			select {
			case s.inflight <- struct{}{}:
				defer func() { <-s.inflight }()
			default:
				sw.Header().Set("Retry-After", "1")
				s.writeError(sw, r, errBusy, http.StatusServiceUnavailable)
				s.finish(sw, r, label, start, "")
				return
			}
		}
		s.metrics.inflight.Inc()
		defer s.metrics.inflight.Dec()

		ctx := r.Context()
		actor := ""
		err := func() error {
			if !rt.public {
				p, err := s.authenticate(r)
				if err != nil {
					return err
				}
				p.Remote = remoteAddr(r)
				actor = p.String()
				ctx = auth.WithPrincipal(ctx, p)
			}
			return rt.handler(sw, r.WithContext(ctx))
		}()
		if err != nil {
			s.writeError(sw, r, err, 0)
		}
		s.finish(sw, r, label, start, actor)
	})
}

func (s *Server) finish(sw *statusWriter, r *http.Request, label string, start time.Time, actor string) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	d := time.Since(start)
	s.metrics.requests.WithLabelValues(label, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(label).Observe(d.Seconds())
	lvl := slog.LevelInfo
	switch {
	case status == http.StatusServiceUnavailable:
		lvl = slog.LevelWarn // load shedding, not a fault
	case status >= 500:
		lvl = slog.LevelError
	}
	if label == "GET /healthz" || label == "GET /readyz" {
		lvl = slog.LevelDebug
	}
	s.log.Log(r.Context(), lvl, "request", "method", r.Method, "route", label, "path", r.URL.Path,
		"status", status, "duration_ms", d.Milliseconds(), "bytes", sw.written, "actor", actor, "remote", remoteAddr(r))
}

// authenticate reads the bearer token. The token itself never reaches a log.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return auth.Principal{}, evidence.Errorf(evidence.KindUnauthorized, "no credentials: send Authorization: Bearer <token>")
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return auth.Principal{}, evidence.Errorf(evidence.KindUnauthorized, "the Authorization header must be a Bearer token")
	}
	return s.cfg.Auth.Authenticate(r.Context(), strings.TrimSpace(tok))
}

// writeError writes the JSON error body. Internal errors are logged in full
// and reported without detail; the rest say what was wrong.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, status int) {
	kind := evidence.KindOf(err)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		kind = evidence.KindTooLarge
		err = evidence.Errorf(kind, "the request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, context.Canceled):
		kind = evidence.KindInvalid
	}
	if status == 0 {
		status = statusOf(kind)
	}
	msg := err.Error()
	if kind == evidence.KindInternal && status == http.StatusInternalServerError {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
		return // the body has begun; the client sees a truncated stream
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="evidentd"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.ErrorBody{Code: string(kind), Message: msg})
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// readJSON decodes a bounded, strict JSON body.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := evidence.DecodeStrictJSON(body, v, maxJSONBody); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return evidence.Errorf(evidence.KindInvalid, "request body: %v", err)
	}
	return nil
}

func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "storage is not reachable"})
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) openapiDoc(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(s.openapi)
	return err
}
