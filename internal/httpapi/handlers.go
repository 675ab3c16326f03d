package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
)

func pathDigest(r *http.Request) (digest.Digest, error) {
	s := r.PathValue("digest")
	d, err := digest.Parse(s)
	if err != nil {
		return digest.Digest{}, evidence.Errorf(evidence.KindInvalid, "%v", err)
	}
	return d, nil
}

func pathRelease(r *http.Request) (evidence.ReleaseRef, error) {
	ref := evidence.ReleaseRef{Product: r.PathValue("product"), Version: r.PathValue("version")}
	if err := evidence.ValidateName("product", ref.Product); err != nil {
		return ref, err
	}
	if err := evidence.ValidateVersion("version", ref.Version); err != nil {
		return ref, err
	}
	return ref, nil
}

type missingRequest struct {
	Digests []digest.Digest `json:"digests"`
}

type missingResponse struct {
	Missing []digest.Digest `json:"missing"`
}

func (s *Server) missingBlobs(w http.ResponseWriter, r *http.Request) error {
	var req missingRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	missing, err := s.cfg.Archive.MissingBlobs(r.Context(), req.Digests)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, missingResponse{Missing: missing})
}

// putBlob streams the request body into the archive. The body may not be
// larger than Content-Length says (when given) nor than MaxBlobSize.
func (s *Server) putBlob(w http.ResponseWriter, r *http.Request) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	size := r.ContentLength // -1 when unknown (chunked)
	if size > s.cfg.MaxBlobSize {
		return evidence.Errorf(evidence.KindTooLarge, "blob of %d bytes is larger than the limit of %d", size, s.cfg.MaxBlobSize)
	}
	body := &uploadReader{r: http.MaxBytesReader(w, r.Body, s.cfg.MaxBlobSize), want: size}
	if err := s.cfg.Archive.PutBlob(r.Context(), d, size, body); err != nil {
		if body.broken != nil {
			// Whatever the store made of it (the request's context ends
			// with the connection), the client's upload broke off.
			return body.broken
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"digest": d.String()})
}

// uploadReader notes a request body that breaks off (shorter than its
// Content-Length, or a chunked body cut short): the client's error, not
// the server's.
type uploadReader struct {
	r       io.Reader
	n, want int64
	broken  error
}

func (u *uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	u.n += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) && u.broken == nil {
		if u.want >= 0 {
			u.broken = evidence.Errorf(evidence.KindInvalid, "blob upload: the request body ended after %d of its %d bytes (Content-Length)", u.n, u.want)
		} else {
			u.broken = evidence.Errorf(evidence.KindInvalid, "blob upload: the chunked request body broke off after %d bytes", u.n)
		}
		err = u.broken
	}
	return n, err
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	rc, n, err := s.cfg.Archive.GetBlob(r.Context(), d)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = io.Copy(w, rc)
	return err
}

func (s *Server) pushRelease(w http.ResponseWriter, r *http.Request) error {
	var req api.PushRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	res, err := s.cfg.Archive.PushRelease(r.Context(), req)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, res)
}

func (s *Server) products(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.cfg.Archive.Products(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"products": ps})
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) error {
	product := r.PathValue("product")
	rs, err := s.cfg.Archive.History(r.Context(), product)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"releases": rs})
}

func (s *Server) release(w http.ResponseWriter, r *http.Request) error {
	ref, err := pathRelease(r)
	if err != nil {
		return err
	}
	rel, err := s.cfg.Archive.Release(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rel)
}

// exportPack streams the audit pack. Errors after the first byte cannot
// change the status; the client then sees a truncated tar, which it detects
// (it writes to a temporary file and verifies before keeping it).
func (s *Server) exportPack(w http.ResponseWriter, r *http.Request) error {
	ref, err := pathRelease(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="`+ref.Product+"-"+ref.Version+`.tar"`)
	lw := &lazyWriter{w: w}
	if err := s.cfg.Archive.Export(r.Context(), ref, lw); err != nil {
		if !lw.started {
			w.Header().Del("Content-Type")
			w.Header().Del("Content-Disposition")
		}
		return err
	}
	return nil
}

// lazyWriter sends the status only with the first byte, so that errors
// found before any output still get a proper error response.
type lazyWriter struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.WriteHeader(http.StatusOK)
	}
	return l.w.Write(p)
}

func (s *Server) findArtifact(w http.ResponseWriter, r *http.Request) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	hits, err := s.cfg.Archive.FindArtifact(r.Context(), d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"hits": hits})
}

func (s *Server) findComponent(w http.ResponseWriter, r *http.Request) error {
	hits, err := s.cfg.Archive.FindComponent(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"hits": hits})
}

func (s *Server) findSOUP(w http.ResponseWriter, r *http.Request) error {
	purl := r.URL.Query().Get("purl")
	if purl == "" {
		return evidence.Errorf(evidence.KindInvalid, "the purl query parameter is required")
	}
	hits, err := s.cfg.Archive.FindSOUP(r.Context(), purl)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"hits": hits})
}

func (s *Server) logInfo(w http.ResponseWriter, r *http.Request) error {
	info, err := s.cfg.Archive.LogInfo(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) logProof(w http.ResponseWriter, r *http.Request) error {
	idx, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		return evidence.Errorf(evidence.KindInvalid, "log index %q: want a non-negative integer", r.PathValue("index"))
	}
	p, err := s.cfg.Archive.LogProof(r.Context(), idx)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// submitApproval reads a Sigstore bundle (bounded) and hands it over.
func (s *Server) submitApproval(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, sign.MaxBundleSize))
	if err != nil {
		return err
	}
	res, err := s.cfg.Archive.SubmitApproval(r.Context(), body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, res)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	ref, err := pathRelease(r)
	if err != nil {
		return err
	}
	st, err := s.cfg.Archive.Status(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}
