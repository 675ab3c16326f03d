// Package s3blob is a blob.Store in an S3 bucket — AWS S3 or an
// S3-compatible server (MinIO, Ceph RGW, versitygw) — under a key prefix,
// named by a URL such as
//
//	s3://evidence-archive/prod?region=eu-central-1
//	s3://evident?endpoint=http://127.0.0.1:7070&region=us-east-1
//
// (see Location for the query parameters). Credentials come from the
// standard AWS environment variables and files (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, ~/.aws/credentials,
// ...), as for every AWS tool; they never appear in a URL or an error.
//
// Layout under PREFIX (fsblob's, so that a bucket and a directory can be
// copied into one another with ordinary tools):
//
//	PREFIX/sha256/ab/ab12…  one object per blob, sharded by the first two
//	                        hex characters of its digest
//
// A Put verifies the content while streaming it, holding at most one part
// (Options.PartSize, 16 MiB by default) in memory:
//
//   - Content of at most PartSize bytes is read into a buffer (of its
//     announced size, if smaller) and verified there, then sent with one
//     PutObject.
//   - Larger content goes up as a multipart upload, one part at a time,
//     hashed as it goes. Parts are invisible until the upload is completed,
//     which happens only once the whole content has been read and found to
//     match its digest and size; on a mismatch, an error or a cancelled
//     context the upload is aborted. (The SDK's upload manager is not used:
//     it would complete an upload before the caller's digest could be
//     checked.)
//
// Every request carries the SHA-256 of its body, both as its x-amz-checksum-
// sha256 and as the signed payload hash, computed here while verifying: the
// server re-verifies what arrived and refuses a body damaged on the way.
//
// A blob is never overwritten: writes are conditional (If-None-Match: *), and
// the answer 412 Precondition Failed means that the blob is already stored,
// which for content-addressed data is success. A server that does not
// support conditional writes (it answers 501, or the URL says
// conditional-writes=false) is asked with HeadObject before every write
// instead; in the window between the two requests a concurrent Put of the
// same blob may store it too, which is harmless because it stores the same
// bytes. Content of more than PartSize bytes is not uploaded at all when the
// blob is already stored: it is only read, to verify it.
//
// With Options.RetainDays, every blob is stored under S3 Object Lock
// retention (COMPLIANCE mode by default: nobody, not even the account's
// root user, can delete or overwrite it before the date), and a Put of a
// blob already stored extends its retention when it would end sooner, so
// that each Put guarantees the full period. The bucket must have Object Lock
// enabled; Open checks it.
//
// A process that dies during a multipart upload leaves the upload behind:
// invisible, but billed by AWS. AbortStaleUploads removes such uploads; a
// bucket lifecycle rule with AbortIncompleteMultipartUpload does the same.
package s3blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/digest"
)

// Part sizes. S3 requires every part but the last to have at least
// MinPartSize bytes and allows at most MaxPartSize per part and maxParts
// parts per upload, so a blob may have at most 10,000 × PartSize bytes.
const (
	DefaultPartSize = 16 << 20
	MinPartSize     = 5 << 20
	MaxPartSize     = 5 << 30
	maxParts        = 10_000
)

const (
	blobsDir    = digest.Algorithm // "sha256"
	contentType = "application/octet-stream"

	// abortTimeout bounds the AbortMultipartUpload sent after a failed
	// upload, whose own context may have ended.
	abortTimeout = time.Minute

	// codeConditionalConflict is AWS's answer to a conditional write that
	// raced another write of the same key; the SDK retries it.
	codeConditionalConflict = "ConditionalRequestConflict"
)

// ErrForeign is wrapped by the errors Check reports for objects under the
// store's prefix that are not blobs.
var ErrForeign = errors.New("not part of the blob store")

// RetentionMode is an S3 Object Lock retention mode.
type RetentionMode string

// The retention modes. Compliance suits a write-once archive: the retention
// can be neither shortened nor removed, by anyone. Governance lets a user
// with the s3:BypassGovernanceRetention permission delete a blob early.
const (
	Compliance RetentionMode = "COMPLIANCE"
	Governance RetentionMode = "GOVERNANCE"
)

// Options configures a Store.
type Options struct {
	// MaxSize is the largest blob Put accepts, in bytes; 0 means no limit
	// but S3's (10,000 × PartSize). Put rejects a larger blob with an error
	// wrapping blob.ErrTooLarge after reading at most MaxSize+1 bytes (none
	// when the announced size is already too large).
	MaxSize int64
	// PartSize is the size of the parts of a multipart upload, and of the
	// one buffer a Put holds (default DefaultPartSize; at least
	// MinPartSize, at most MaxPartSize).
	PartSize int64
	// RetainDays, when positive, stores every blob under Object Lock
	// retention until at least RetainDays days after its latest Put (the
	// date is rounded up to the next midnight UTC). The bucket must have
	// Object Lock enabled.
	RetainDays int
	// RetentionMode is the mode of that retention (default Compliance).
	RetentionMode RetentionMode
	// HTTPClient sends the requests (default: the AWS SDK's).
	HTTPClient *http.Client
}

// Store is a blob.Store in an S3 bucket. It is safe for concurrent use.
type Store struct {
	loc        Location
	client     *s3.Client
	root       string // "PREFIX/", or "" for the whole bucket
	blobs      string // root + "sha256/"
	maxSize    int64
	partSize   int64
	retainDays int
	mode       types.ObjectLockMode
	bufs       sync.Pool // *[]byte of partSize

	// noConditional is set once the server has answered a conditional
	// write with 501 Not Implemented, or from the start when the URL says
	// conditional-writes=false.
	noConditional atomic.Bool
}

var _ blob.Store = (*Store)(nil)

// Open opens the store at the s3:// URL rawURL (see Location). It checks
// that the bucket exists and can be accessed, and with RetainDays that it
// has Object Lock enabled; it writes nothing. A bad URL gives an error
// wrapping ErrInvalidURL.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	s, err := open(ctx, loc, opts)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", loc.name(), err)
	}
	return s, nil
}

func open(ctx context.Context, loc Location, opts Options) (*Store, error) {
	if opts.MaxSize < 0 {
		return nil, fmt.Errorf("negative MaxSize %d", opts.MaxSize)
	}
	if opts.PartSize == 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.PartSize < MinPartSize || opts.PartSize > MaxPartSize {
		return nil, fmt.Errorf("PartSize %d: S3 allows parts of %d to %d bytes", opts.PartSize, MinPartSize, int64(MaxPartSize))
	}
	if opts.RetainDays < 0 || opts.RetainDays > 36500 {
		return nil, fmt.Errorf("RetainDays %d: want 0 (no retention) to 36500", opts.RetainDays)
	}
	if opts.RetentionMode == "" {
		opts.RetentionMode = Compliance
	}
	if opts.RetentionMode != Compliance && opts.RetentionMode != Governance {
		return nil, fmt.Errorf("RetentionMode %q: want %s or %s", opts.RetentionMode, Compliance, Governance)
	}

	client, err := newClient(ctx, loc, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	s := &Store{
		loc:        loc,
		client:     client,
		maxSize:    opts.MaxSize,
		partSize:   opts.PartSize,
		retainDays: opts.RetainDays,
		mode:       types.ObjectLockMode(opts.RetentionMode),
	}
	if loc.Prefix != "" {
		s.root = loc.Prefix + "/"
	}
	s.blobs = s.root + blobsDir + "/"
	s.bufs.New = func() any { b := make([]byte, s.partSize); return &b }
	s.noConditional.Store(!loc.ConditionalWrites)

	if err := s.checkBucket(ctx); err != nil {
		return nil, err
	}
	if s.retainDays > 0 {
		if err := s.checkObjectLock(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newClient makes an S3 client for loc with the default AWS configuration
// (environment variables, shared files). The SDK logs nothing: errors are
// returned.
func newClient(ctx context.Context, loc Location, hc *http.Client) (*s3.Client, error) {
	cfgOpts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if loc.Region != "" {
		cfgOpts = append(cfgOpts, config.WithRegion(loc.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, cfgOpts...)
	if err != nil {
		return nil, fmt.Errorf("load the AWS configuration: %w", err)
	}
	// Fail early, and say where credentials come from, rather than with
	// the SDK's account of the last place it looked (EC2 instance metadata).
	if cfg.Credentials == nil {
		return nil, errors.New(noCredentials)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", noCredentials, err)
	}
	if cfg.Region == "" {
		if loc.Endpoint == "" {
			return nil, errors.New("no region: add ?region=REGION to the URL or set AWS_REGION")
		}
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if loc.Endpoint != "" {
			o.BaseEndpoint = aws.String(loc.Endpoint)
		}
		o.UsePathStyle = loc.PathStyle
		if hc != nil {
			// Here rather than in the configuration, which would refuse a
			// plain *http.Client when AWS_CA_BUNDLE is set.
			o.HTTPClient = hc
		}
		// Multipart objects have composite checksums, which the SDK does
		// not validate on Get; it would log that, and a library must not.
		o.DisableLogOutputChecksumValidationSkipped = true
		o.Retryer = retry.AddWithErrorCodes(o.Retryer, codeConditionalConflict)
	}), nil
}

const noCredentials = "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
	"or AWS_PROFILE with the shared credentials file, or run where an IAM role provides them"

// createBucketHint tells how to create the bucket the store needs.
func (s *Store) createBucketHint() string {
	cmd := "aws s3api create-bucket --bucket " + s.loc.Bucket
	if s.loc.Endpoint != "" {
		cmd += " --endpoint-url " + s.loc.Endpoint
	}
	if s.retainDays > 0 {
		cmd += " --object-lock-enabled-for-bucket"
	}
	return cmd
}

func (s *Store) checkBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.loc.Bucket})
	switch status := httpStatus(err); {
	case err == nil:
		return nil
	case status == http.StatusNotFound:
		return fmt.Errorf("bucket %q does not exist: create it first (for example: %s)", s.loc.Bucket, s.createBucketHint())
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return fmt.Errorf("access to bucket %q denied: check the credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...) and their permissions: %w", s.loc.Bucket, err)
	default:
		return fmt.Errorf("check bucket %q: %w", s.loc.Bucket, err)
	}
}

func (s *Store) checkObjectLock(ctx context.Context) error {
	out, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &s.loc.Bucket})
	if err != nil && errorCode(err) != "ObjectLockConfigurationNotFoundError" {
		return fmt.Errorf("read the Object Lock configuration of bucket %q: %w", s.loc.Bucket, err)
	}
	if err != nil || out.ObjectLockConfiguration == nil ||
		out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		return fmt.Errorf("blob retention (%d days) needs Object Lock, which bucket %q does not have enabled: "+
			"create the bucket with it (%s) or enable it (aws s3api put-object-lock-configuration, on a versioned bucket)",
			s.retainDays, s.loc.Bucket, s.createBucketHint())
	}
	return nil
}

// Location returns where the store keeps its blobs.
func (s *Store) Location() Location { return s.loc }

// key returns the object key of d.
func (s *Store) key(d digest.Digest) string {
	h := d.Hex()
	return s.blobs + h[:2] + "/" + h
}

// retainUntil returns the retention date of a Put starting now, or the zero
// time without retention. Rounding up to midnight UTC gives every Put of a
// day the same date, so that repeated Puts do not extend a retention by
// seconds each time.
func (s *Store) retainUntil() time.Time {
	if s.retainDays == 0 {
		return time.Time{}
	}
	return time.Now().UTC().Truncate(24 * time.Hour).Add(time.Duration(s.retainDays+1) * 24 * time.Hour)
}

// lock returns the Object Lock fields of a write retained until until.
func (s *Store) lock(until time.Time) (types.ObjectLockMode, *time.Time) {
	if until.IsZero() {
		return "", nil
	}
	return s.mode, &until
}

// Put implements blob.Store. Put always reads r to its end and verifies it,
// even when the blob is already stored, so that wrong content is reported as
// wrong even for a digest the store holds. Besides the errors of blob.Store,
// Put fails with an error wrapping blob.ErrTooLarge (see Options.MaxSize),
// wrapping ctx.Err() when ctx ends before the blob is stored, and wrapping
// the error of r when reading fails. A zero digest is rejected without
// reading r.
func (s *Store) Put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	if d.IsZero() {
		return errors.New("put blob: the digest is the zero value")
	}
	if err := s.put(ctx, d, size, r); err != nil {
		// The SDK reports a cancelled request in its own words; make sure
		// the cause can be told with errors.Is.
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return fmt.Errorf("put blob %s: %w", d, err)
	}
	return nil
}

func (s *Store) put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.maxSize > 0 {
		if size > s.maxSize {
			return fmt.Errorf("%w: %d bytes announced, the limit is %d", blob.ErrTooLarge, size, s.maxSize)
		}
		r = &limitReader{r: r, max: s.maxSize}
	}
	if limit := maxParts * s.partSize; size > limit {
		return fmt.Errorf("%w: %d bytes announced; with parts of %d bytes S3 takes at most %d", blob.ErrTooLarge, size, s.partSize, limit)
	}
	until := s.retainUntil()
	vr := digest.NewVerifyingReader(r, d, size)

	// Content announced smaller than a part is read into a buffer of its
	// size: a server taking many small uploads at once must not hold a
	// whole part for each.
	var buf []byte
	if size >= 0 && size < s.partSize {
		buf = make([]byte, size)
	} else {
		bp := s.bufs.Get().(*[]byte)
		defer s.bufs.Put(bp)
		buf = *bp
	}
	n, eof, err := fill(ctx, vr, buf)
	if err != nil {
		return err
	}
	if !eof && size >= 0 && size <= int64(n) {
		// Every announced byte has arrived: reading on sees the end (and
		// verifies the content) or a longer body, which vr refuses.
		if eof, err = atEOF(ctx, vr); err != nil {
			return err
		}
	}
	if eof {
		return s.putSmall(ctx, d, buf[:n], until)
	}
	if int64(len(buf)) < s.partSize {
		return fmt.Errorf("%w: content for %s is longer than %d bytes", digest.ErrMismatch, d, size)
	}
	return s.putMultipart(ctx, d, vr, buf, n, until)
}

// fill reads from r into buf until buf is full, r ends (eof) or fails, or
// ctx ends. With a VerifyingReader, eof means that the content was
// verified.
func fill(ctx context.Context, r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, false, err
		}
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// atEOF reads from r, which should be at its end, through a one-byte buffer.
// It reports false if a byte arrived (which a VerifyingReader of a known
// size never lets through: it fails instead).
func atEOF(ctx context.Context, r io.Reader) (bool, error) {
	var one [1]byte
	n, eof, err := fill(ctx, r, one[:])
	return eof && n == 0, err
}

// drain reads r to its end through buf, for verification only.
func drain(ctx context.Context, r io.Reader, buf []byte) error {
	for {
		_, eof, err := fill(ctx, r, buf)
		if err != nil || eof {
			return err
		}
	}
}

// putSmall stores verified content with one PutObject.
func (s *Store) putSmall(ctx context.Context, d digest.Digest, body []byte, until time.Time) error {
	// Last chance to abandon the Put: once sent, the blob may be stored.
	if err := ctx.Err(); err != nil {
		return err
	}
	key := s.key(d)
	mode, date := s.lock(until)
	existed, err := s.writeOnce(ctx, key, func(ifNoneMatch *string) error {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:                    &s.loc.Bucket,
			Key:                       &key,
			Body:                      bytes.NewReader(body),
			ContentLength:             aws.Int64(int64(len(body))),
			ContentType:               aws.String(contentType),
			ChecksumAlgorithm:         types.ChecksumAlgorithmSha256,
			ChecksumSHA256:            aws.String(base64.StdEncoding.EncodeToString(d.Bytes())),
			IfNoneMatch:               ifNoneMatch,
			ObjectLockMode:            mode,
			ObjectLockRetainUntilDate: date,
		}, withPayloadHash(d.Hex()))
		return err
	})
	if err != nil {
		return err
	}
	if existed {
		return s.keep(ctx, key, until)
	}
	return nil
}

// putMultipart stores content whose first len(buf) bytes are in buf, and
// whose rest comes from vr, with a multipart upload that is completed only
// once vr has verified the whole content.
func (s *Store) putMultipart(ctx context.Context, d digest.Digest, vr io.Reader, buf []byte, n int, until time.Time) (err error) {
	key := s.key(d)
	// A blob already stored is not sent again: its content is only read,
	// to verify it.
	switch ok, err := s.exists(ctx, key); {
	case err != nil:
		return err
	case ok:
		if err := drain(ctx, vr, buf); err != nil {
			return err
		}
		return s.keep(ctx, key, until)
	}

	mode, date := s.lock(until)
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:                    &s.loc.Bucket,
		Key:                       &key,
		ContentType:               aws.String(contentType),
		ChecksumAlgorithm:         types.ChecksumAlgorithmSha256,
		ObjectLockMode:            mode,
		ObjectLockRetainUntilDate: date,
	})
	if err != nil {
		return fmt.Errorf("start a multipart upload: %w", err)
	}
	id := aws.ToString(created.UploadId)
	completed := false
	defer func() {
		if completed {
			return
		}
		if aerr := s.abort(ctx, key, id); aerr != nil && err != nil {
			err = fmt.Errorf("%w (and the incomplete upload could not be aborted, AbortStaleUploads will: %v)", err, aerr)
		}
	}()

	var parts []types.CompletedPart
	eof := false
	for {
		if n > 0 {
			if len(parts) == maxParts {
				return fmt.Errorf("%w: with parts of %d bytes S3 takes at most %d bytes", blob.ErrTooLarge, s.partSize, maxParts*s.partSize)
			}
			part, err := s.uploadPart(ctx, key, id, int32(len(parts)+1), buf[:n])
			if err != nil {
				return err
			}
			parts = append(parts, part)
		}
		if eof {
			break
		}
		if n, eof, err = fill(ctx, vr, buf); err != nil {
			return err
		}
	}

	// The content is verified. Last chance to abandon the Put.
	if err := ctx.Err(); err != nil {
		return err
	}
	existed, err := s.writeOnce(ctx, key, func(ifNoneMatch *string) error {
		_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          &s.loc.Bucket,
			Key:             &key,
			UploadId:        &id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
			IfNoneMatch:     ifNoneMatch,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("complete the multipart upload: %w", err)
	}
	if existed {
		// Stored meanwhile by a concurrent Put; ours is aborted (deferred).
		return s.keep(ctx, key, until)
	}
	completed = true
	return nil
}

// uploadPart uploads one part of upload id.
func (s *Store) uploadPart(ctx context.Context, key, id string, num int32, body []byte) (types.CompletedPart, error) {
	sum := sha256.Sum256(body)
	checksum := base64.StdEncoding.EncodeToString(sum[:])
	out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:            &s.loc.Bucket,
		Key:               &key,
		UploadId:          &id,
		PartNumber:        aws.Int32(num),
		Body:              bytes.NewReader(body),
		ContentLength:     aws.Int64(int64(len(body))),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    &checksum,
	}, withPayloadHash(hex.EncodeToString(sum[:])))
	if err != nil {
		return types.CompletedPart{}, fmt.Errorf("upload part %d: %w", num, err)
	}
	return types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.ETag, ChecksumSHA256: &checksum}, nil
}

// abort aborts upload id, even when ctx has ended.
func (s *Store) abort(ctx context.Context, key, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &s.loc.Bucket, Key: &key, UploadId: &id,
	})
	if errorCode(err) == "NoSuchUpload" {
		return nil
	}
	return err
}

// writeOnce runs write, which stores key, so that it never replaces an
// object: write is passed "*" for its If-None-Match when the server supports
// conditional writes, else the key is looked up first. existed reports that
// key was stored already and write stored nothing.
func (s *Store) writeOnce(ctx context.Context, key string, write func(ifNoneMatch *string) error) (existed bool, err error) {
	if !s.noConditional.Load() {
		err := write(aws.String("*"))
		switch {
		case err == nil:
			return false, nil
		case httpStatus(err) == http.StatusPreconditionFailed:
			return true, nil
		case !notImplemented(err):
			// Another writer may have stored the key meanwhile, and a
			// server may say so other than with 412: versitygw refuses a
			// write to a key under Object Lock retention with 403 before
			// it looks at If-None-Match, and a server that refuses early
			// may reset the connection while the body is still being
			// sent, which the client sees as a network error. Whatever
			// the error, a key that is stored now holds this content,
			// since the key is the content's digest.
			if ok, herr := s.exists(ctx, key); herr == nil && ok {
				return true, nil
			}
			return false, err
		}
		s.noConditional.Store(true)
	}
	// Between this look and the write, a concurrent Put of the same blob
	// may store it: harmless, as it stores the same content.
	if ok, err := s.exists(ctx, key); err != nil || ok {
		return ok, err
	}
	return false, write(nil)
}

// exists reports whether key is stored.
func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.loc.Bucket, Key: &key})
	switch {
	case err == nil:
		return true, nil
	case isNotFound(err):
		return false, nil
	default:
		return false, err
	}
}

// keep extends the retention of the stored key to until, if it would end
// sooner, so that a Put of a blob already stored guarantees the same
// retention as a first one.
func (s *Store) keep(ctx context.Context, key string, until time.Time) error {
	if until.IsZero() {
		return nil
	}
	h, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.loc.Bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("read the retention of the stored blob: %w", err)
	}
	if h.ObjectLockRetainUntilDate != nil && !h.ObjectLockRetainUntilDate.Before(until) {
		return nil
	}
	_, err = s.client.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{
		Bucket: &s.loc.Bucket,
		Key:    &key,
		Retention: &types.ObjectLockRetention{
			Mode:            types.ObjectLockRetentionMode(s.mode),
			RetainUntilDate: &until,
		},
	})
	if err != nil {
		return fmt.Errorf("extend the retention of the stored blob to %s: %w", until.Format(time.DateOnly), err)
	}
	return nil
}

// withPayloadHash signs a request with sum, the hex SHA-256 of its body,
// computed while verifying it, instead of letting the SDK read the body
// once more to compute it (over plain HTTP) or leave the payload unsigned
// (over HTTPS).
func withPayloadHash(sum string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("evidentPayloadHash",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					return next.HandleInitialize(v4.SetPayloadHash(ctx, sum), in)
				}), middleware.After)
		})
	}
}

// limitReader fails with blob.ErrTooLarge once more than max bytes have been
// read, reading at most max+1 bytes from r.
type limitReader struct {
	r   io.Reader
	max int64
	n   int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, l.tooLarge()
	}
	if rest := l.max + 1 - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, l.tooLarge()
	}
	return n, err
}

func (l *limitReader) tooLarge() error {
	return fmt.Errorf("%w: more than %d bytes", blob.ErrTooLarge, l.max)
}

// Get implements blob.Store. The returned reader streams the object from
// the server; its content is not re-hashed here (that is fsck's job: wrap
// it in a digest.VerifyingReader), although the SDK checks the checksum
// stored with a blob of at most PartSize bytes and fails the read at its end
// on a mismatch. A zero digest is not found.
func (s *Store) Get(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	if err := checkDigest(ctx, d); err != nil {
		return nil, 0, fmt.Errorf("get blob %s: %w", d, err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.loc.Bucket, Key: aws.String(s.key(d))})
	if err != nil {
		return nil, 0, fmt.Errorf("get blob %s: %w", d, s.notFound(err))
	}
	if out.ContentLength == nil || *out.ContentLength < 0 {
		out.Body.Close()
		return nil, 0, fmt.Errorf("get blob %s: the server sent no content length", d)
	}
	return out.Body, *out.ContentLength, nil
}

// Stat implements blob.Store. A zero digest is not found.
func (s *Store) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	if err := checkDigest(ctx, d); err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.loc.Bucket, Key: aws.String(s.key(d))})
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, s.notFound(err))
	}
	if out.ContentLength == nil || *out.ContentLength < 0 {
		return 0, fmt.Errorf("stat blob %s: the server sent no content length", d)
	}
	return *out.ContentLength, nil
}

func checkDigest(ctx context.Context, d digest.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.IsZero() {
		return fmt.Errorf("the zero digest names no blob: %w", blob.ErrNotFound)
	}
	return nil
}

// notFound turns the server's "no such key" into blob.ErrNotFound, without
// the SDK's request details, which say nothing more.
func (s *Store) notFound(err error) error {
	switch {
	case errorCode(err) == "NoSuchBucket":
		return fmt.Errorf("bucket %q does not exist: %w", s.loc.Bucket, err)
	case isNotFound(err):
		return blob.ErrNotFound
	}
	return err
}

// Walk implements blob.Store. It reports exactly the blobs Get can return:
// objects under PREFIX/sha256/ whose key is a digest in its right shard.
// Anything else is skipped; Check reports it. An error from fn stops the
// walk and is returned as is. Memory does not grow with the number of
// blobs: the listing is read a page at a time.
func (s *Store) Walk(ctx context.Context, fn func(d digest.Digest, size int64) error) error {
	var fnErr error
	err := s.list(ctx, s.blobs, func(key string, size int64) error {
		d, problem := s.parseKey(key)
		if problem != nil {
			return nil
		}
		fnErr = fn(d, size)
		return fnErr
	})
	if err != nil && err != fnErr {
		return fmt.Errorf("walk blobs in %s: %w", s.loc.name(), err)
	}
	return err
}

// Check calls fn for every object under the store's prefix that is not a
// blob — a foreign object, a blob in the wrong shard, a key that is not a
// digest — with its s3:// name and an error, wrapping ErrForeign, saying
// what is wrong with it. Walk skips such objects, so fsck calls Check as
// well to learn of them. Uploads in progress are not objects and are not
// reported. Check returns an error only when it cannot list the bucket or
// ctx ends.
func (s *Store) Check(ctx context.Context, fn func(name string, err error)) error {
	err := s.list(ctx, s.root, func(key string, _ int64) error {
		var problem error
		if strings.HasPrefix(key, s.blobs) {
			_, problem = s.parseKey(key)
		} else {
			problem = fmt.Errorf("unexpected object: blobs are under %s", s.blobs)
		}
		if problem != nil {
			fn("s3://"+s.loc.Bucket+"/"+key, fmt.Errorf("%w: %w", ErrForeign, problem))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check blob store %s: %w", s.loc.name(), err)
	}
	return nil
}

// parseKey returns the digest of a key under s.blobs, or why it is not a
// blob's key.
func (s *Store) parseKey(key string) (digest.Digest, error) {
	shard, name, ok := strings.Cut(strings.TrimPrefix(key, s.blobs), "/")
	if !ok || len(shard) != 2 || !isLowerHex(shard) {
		return digest.Digest{}, errors.New("not a blob: not in a shard (two lower-case hex characters)")
	}
	d, err := digest.Parse(name)
	if err != nil || strings.HasPrefix(name, digest.Algorithm+":") {
		return digest.Digest{}, errors.New("not a blob: the name is not 64 lower-case hex characters")
	}
	if !strings.HasPrefix(name, shard) {
		return digest.Digest{}, fmt.Errorf("blob in the wrong shard: it belongs under %s%s/", s.blobs, name[:2])
	}
	return d, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// list calls fn for every object whose key begins with prefix, a page at a
// time, stopping at the first error from fn.
func (s *Store) list(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	in := &s3.ListObjectsV2Input{Bucket: &s.loc.Bucket}
	if prefix != "" {
		in.Prefix = &prefix
	}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, obj := range page.Contents {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(aws.ToString(obj.Key), aws.ToInt64(obj.Size)); err != nil {
				return err
			}
		}
	}
	return nil
}

// AbortStaleUploads aborts the multipart uploads of blobs that were started
// more than olderThan ago: left behind by a process that died during a Put
// (a live Put would fail on its next part). They are invisible, but the
// server keeps, and AWS bills, their parts. It returns how many it aborted.
// olderThan should be far longer than the slowest upload: a day, say.
func (s *Store) AbortStaleUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	aborted := 0
	in := &s3.ListMultipartUploadsInput{Bucket: &s.loc.Bucket, Prefix: &s.blobs}
	for {
		page, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return aborted, fmt.Errorf("list the multipart uploads in %s: %w", s.loc.name(), err)
		}
		for _, u := range page.Uploads {
			if u.Initiated == nil || !u.Initiated.Before(cutoff) {
				continue
			}
			if err := s.abort(ctx, aws.ToString(u.Key), aws.ToString(u.UploadId)); err != nil {
				return aborted, fmt.Errorf("abort the upload of %s: %w", aws.ToString(u.Key), err)
			}
			aborted++
		}
		if !aws.ToBool(page.IsTruncated) {
			return aborted, nil
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}

// httpStatus returns the HTTP status of a failed request, or 0.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// errorCode returns the S3 error code of a failed request, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports whether a request failed because the key does not
// exist. (HeadObject answers a bare 404, without a code.)
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf) ||
		httpStatus(err) == http.StatusNotFound && errorCode(err) != "NoSuchBucket"
}

// notImplemented reports whether the server does not support a request (or
// one of its headers).
func notImplemented(err error) bool {
	return httpStatus(err) == http.StatusNotImplemented || errorCode(err) == "NotImplemented"
}
