package testutil

// A real S3-compatible server for the tests of the S3 blob store: the one
// EVIDENT_TEST_S3_URL names, or else versitygw, started once per test
// process on a temporary directory.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"

	"github.com/evident-dev/evident/internal/blob/s3blob"
)

// S3 servers.
const (
	// EnvS3URL names the S3 location tests use instead of starting
	// versitygw, e.g. s3://evident-test?endpoint=http://127.0.0.1:7070&region=us-east-1,
	// with the credentials in the standard AWS environment variables. The
	// tests create the bucket if it is missing, work under fresh prefixes
	// in it, and create further buckets (named after it) for Object Lock.
	EnvS3URL = "EVIDENT_TEST_S3_URL"
	// EnvVersitygw is the path of the versitygw binary (scripts/tools.sh
	// versitygw installs it); without it, versitygw is looked up on PATH.
	EnvVersitygw = "EVIDENT_VERSITYGW"
)

// s3srv is the one S3 server of the test process, set up under once. Like
// built, it is written once and read afterwards.
var s3srv struct {
	once        sync.Once
	loc         s3blob.Location // the server; Bucket and Prefix of EVIDENT_TEST_S3_URL
	client      *s3.Client
	external    bool
	unavailable string // why there is no server, when that is not an error
	err         error

	cmd    *exec.Cmd
	exited chan struct{}
	dir    string
	out    *lockedBuffer
}

// S3 returns the URL of a new, empty blob store location on a test S3
// server: a fresh bucket on the versitygw that S3 starts once per test
// process, or a fresh prefix in the bucket of EVIDENT_TEST_S3_URL. Without
// either server the test skips (see Unavailable).
//
// When S3 starts versitygw it points the process's AWS_* environment at it
// (random credentials, no profile or shared files), once, for the whole
// test process: t.Setenv cannot be used by parallel tests, and the blob
// store suite runs in parallel. Call StopS3 from TestMain.
func S3(t testing.TB) string {
	t.Helper()
	return s3Location(t, false)
}

// S3ObjectLock is S3 with a new bucket created with S3 Object Lock enabled,
// always a bucket of its own.
func S3ObjectLock(t testing.TB) string {
	t.Helper()
	return s3Location(t, true)
}

// StopS3 stops the versitygw that S3 started, if any, and removes its data.
// Call it from TestMain after m.Run; S3 must not be called afterwards.
func StopS3() {
	if s3srv.cmd != nil {
		s3srv.cmd.Process.Kill()
		<-s3srv.exited
	}
	if s3srv.dir != "" {
		os.RemoveAll(s3srv.dir)
	}
}

func s3Location(t testing.TB, objectLock bool) string {
	t.Helper()
	s3srv.once.Do(setupS3)
	if s3srv.unavailable != "" {
		Unavailable(t, "%s", s3srv.unavailable)
	}
	if s3srv.err != nil {
		t.Fatalf("S3 test server: %v", s3srv.err)
	}
	ctx := context.Background()
	loc := s3srv.loc
	name := "t-" + strings.ToLower(rand.Text()[:16])
	switch {
	case s3srv.external && !objectLock:
		// A prefix of its own in the given bucket, removed afterwards.
		loc.Prefix = strings.TrimPrefix(loc.Prefix+"/"+name, "/")
		t.Cleanup(func() { deleteS3Prefix(t, loc.Bucket, loc.Prefix+"/") })
		return loc.String()
	case s3srv.external:
		// Buckets with Object Lock cannot be cleaned up: their blobs are
		// retained.
		loc.Bucket, loc.Prefix = bucketName(loc.Bucket, name), ""
	default:
		loc.Bucket, loc.Prefix = name, ""
	}
	_, err := s3srv.client.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                     &loc.Bucket,
		ObjectLockEnabledForBucket: aws.Bool(objectLock),
	})
	if err != nil {
		t.Fatalf("create bucket %s: %v", loc.Bucket, err)
	}
	return loc.String()
}

// bucketName derives a bucket name from base and a unique suffix, within
// the 63 characters S3 allows.
func bucketName(base, suffix string) string {
	base = strings.TrimRight(base[:min(len(base), 63-len(suffix)-1)], ".-")
	return base + "-" + suffix
}

// deleteS3Prefix removes what a test stored on the external server.
func deleteS3Prefix(t testing.TB, bucket, prefix string) {
	ctx := context.Background()
	pages := s3.NewListObjectsV2Paginator(s3srv.client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Logf("clean up s3://%s/%s: %v", bucket, prefix, err)
			return
		}
		var objs []types.ObjectIdentifier
		for _, o := range page.Contents {
			objs = append(objs, types.ObjectIdentifier{Key: o.Key})
		}
		if len(objs) == 0 {
			continue
		}
		_, err = s3srv.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
		if err != nil {
			t.Logf("clean up s3://%s/%s: %v", bucket, prefix, err)
			return
		}
	}
}

// setupS3 finds or starts the server; it runs once.
func setupS3() {
	if raw := os.Getenv(EnvS3URL); raw != "" {
		s3srv.err = useExternalS3(raw)
		return
	}
	bin := os.Getenv(EnvVersitygw)
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			s3srv.err = fmt.Errorf("%s: %v", EnvVersitygw, err)
			return
		}
	} else if p, err := exec.LookPath("versitygw"); err == nil {
		bin = p
	} else {
		s3srv.unavailable = "no S3 server: set " + EnvS3URL + ", or " + EnvVersitygw +
			"=/path/to/versitygw (scripts/tools.sh versitygw installs it), or put versitygw on PATH"
		return
	}
	s3srv.err = startVersitygw(bin)
}

func useExternalS3(raw string) error {
	loc, err := s3blob.ParseURL(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvS3URL, err)
	}
	ctx := context.Background()
	cfgOpts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if loc.Region != "" {
		cfgOpts = append(cfgOpts, config.WithRegion(loc.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, cfgOpts...)
	if err != nil {
		return fmt.Errorf("%s: load the AWS configuration: %w", EnvS3URL, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	s3srv.loc, s3srv.external = loc, true
	s3srv.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if loc.Endpoint != "" {
			o.BaseEndpoint = aws.String(loc.Endpoint)
		}
		o.UsePathStyle = loc.PathStyle
	})
	if _, err := s3srv.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &loc.Bucket}); err == nil {
		return nil
	}
	if _, err := s3srv.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &loc.Bucket}); err != nil {
		return fmt.Errorf("%s: create bucket %s: %w", EnvS3URL, loc.Bucket, err)
	}
	return nil
}

// startVersitygw starts versitygw on a port of its own and a temporary
// directory, with random root credentials, and points the process's AWS
// environment at it.
func startVersitygw(bin string) error {
	dir, err := os.MkdirTemp("", "evident-test-s3-")
	if err != nil {
		return err
	}
	s3srv.dir = dir
	access, secret := "evident"+rand.Text()[:12], rand.Text()
	creds := credentials.NewStaticCredentialsProvider(access, secret, "")
	var last error
	// A free port is found by listening on it; someone else may take it
	// before versitygw does, so try a few.
	for range 3 {
		port, err := freePort()
		if err != nil {
			return err
		}
		endpoint := "http://127.0.0.1:" + port
		if last = runVersitygw(bin, dir, port, access, secret); last != nil {
			return last
		}
		client := s3.New(s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
			Credentials: creds, Logger: logging.Nop{},
		})
		if last = waitS3(client); last == nil {
			s3srv.loc = s3blob.Location{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, ConditionalWrites: true}
			s3srv.client = client
			return setS3Env(access, secret)
		}
		s3srv.cmd.Process.Kill()
		<-s3srv.exited
		s3srv.cmd = nil
	}
	return fmt.Errorf("versitygw did not start: %w\n%s", last, tail(s3srv.out.String(), 4000))
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

func runVersitygw(bin, dir, port, access, secret string) error {
	cmd := exec.Command(bin, "--port", "127.0.0.1:"+port, "--quiet", "posix", dir)
	// The credentials go through the environment, not the command line
	// that ps shows; the machine's VGW_* settings are left out.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VGW_") && !strings.HasPrefix(kv, "ROOT_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "ROOT_ACCESS_KEY="+access, "ROOT_SECRET_KEY="+secret)
	if s3srv.out == nil {
		s3srv.out = &lockedBuffer{}
	}
	cmd.Stdout, cmd.Stderr = s3srv.out, s3srv.out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s3srv.cmd, s3srv.exited = cmd, exited
	return nil
}

// waitS3 waits until the server answers a signed request (which proves it
// is ours: it knows the credentials), at most 30 seconds.
func waitS3(client *s3.Client) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s3srv.exited:
			return errors.New("versitygw exited")
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// setS3Env makes the AWS SDK of this process use the given credentials and
// nothing of the machine's AWS configuration.
func setS3Env(access, secret string) error {
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION",
		"AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE"} {
		if err := os.Unsetenv(k); err != nil {
			return err
		}
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           access,
		"AWS_SECRET_ACCESS_KEY":       secret,
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

// S3Client returns a client of the test S3 server, for tests that look
// underneath a store (pending uploads, retention).
func S3Client(t testing.TB) *s3.Client {
	t.Helper()
	s3srv.once.Do(setupS3)
	if s3srv.unavailable != "" {
		Unavailable(t, "%s", s3srv.unavailable)
	}
	if s3srv.err != nil {
		t.Fatalf("S3 test server: %v", s3srv.err)
	}
	return s3srv.client
}

// S3Server is the base URL of the test S3 server's endpoint ("" for AWS).
func S3Server(t testing.TB) string {
	t.Helper()
	S3Client(t)
	return s3srv.loc.Endpoint
}

// S3Output is what the versitygw started by S3 has printed so far.
func S3Output() string {
	if s3srv.out == nil {
		return ""
	}
	return s3srv.out.String()
}
