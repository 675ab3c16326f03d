// Package deploy has no code, only tests. They check the files that run
// evidentd in containers. No Go code reads these files, and they cannot be
// tried here: a test machine has neither Docker nor a Kubernetes cluster.
// The tests cover:
//
//   - ../Dockerfile and ../.dockerignore: the image is built with the
//     Makefile's `make build`, and the build context holds every file that
//     build reads;
//   - compose/compose.yaml: loaded with compose-go, the library docker
//     compose itself uses, with the compose specification's schema, and
//     compose/s3-policy.json against the S3 calls the blob store makes;
//   - kubernetes/*.yaml: every document decoded strictly into the official
//     Kubernetes API types, as the API server decodes with strict field
//     validation (unknown, duplicate and wrongly cased fields are errors).
//
// They also check the references within and between these files. Every
// flag, EVIDENTD_* variable and config-file key they give evidentd must be
// one that the real binary (built from this module) lists in
// `evidentd serve --help`. Every Secret, ConfigMap, key, port, label
// selector, volume and file they name must exist. Each check also has a
// test that breaks the files and expects the check to fail.
package deploy
