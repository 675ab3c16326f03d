package ghpublish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/evident-dev/evident/internal/evidence"
)

// Asset is a file to attach to a release.
type Asset struct {
	Name      string
	MediaType string
	Data      []byte
}

// What AttachAssets did with an asset.
const (
	AssetUploaded  = "uploaded"
	AssetUnchanged = "unchanged" // already attached, byte for byte identical
	AssetReplaced  = "replaced"
)

// AssetResult is what happened to one asset.
type AssetResult struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	URL    string `json:"url,omitempty"` // browser_download_url
}

// Release is the GitHub release the assets went to.
type Release struct {
	ID      int64  `json:"id"`
	Tag     string `json:"tag"`
	Draft   bool   `json:"draft"`
	HTMLURL string `json:"url"`
}

// AttachOptions tune AttachAssets.
type AttachOptions struct {
	// Replace replaces an asset of the same name whose content differs;
	// without it that is an error (KindConflict).
	Replace bool
}

// maxReleasePages bounds the walk through a repository's releases when
// looking for a draft: 100 a page.
const maxReleasePages = 50

// AttachAssets attaches assets to the GitHub release of tag. The release
// must exist (published or draft). An asset already attached under the
// same name is downloaded and compared: identical is left alone, different
// is an error unless opts.Replace; one left broken by an interrupted upload
// is replaced.
func (p *Publisher) AttachAssets(ctx context.Context, tag string, assets []Asset, opts AttachOptions) (*Release, []AssetResult, error) {
	if tag == "" {
		return nil, nil, evidence.Errorf(evidence.KindInvalid, "no tag: release assets are attached to the GitHub release of a tag build (GITHUB_REF refs/tags/...)")
	}
	rel, err := p.findRelease(ctx, tag)
	if err != nil {
		return nil, nil, err
	}
	existing, err := p.listAssets(ctx, rel.GetID())
	if err != nil {
		return nil, nil, err
	}
	out := &Release{ID: rel.GetID(), Tag: rel.GetTagName(), Draft: rel.GetDraft(), HTMLURL: rel.GetHTMLURL()}
	var results []AssetResult
	for _, a := range assets {
		res, err := p.attach(ctx, rel, existing[a.Name], a, opts)
		if errors.Is(err, errAlreadyExists) {
			// An upload that GitHub half-accepted before failing (and the
			// retry then found taken), or a concurrent run: look again.
			if existing, err = p.listAssets(ctx, rel.GetID()); err != nil {
				return out, results, err
			}
			res, err = p.attach(ctx, rel, existing[a.Name], a, opts)
		}
		if err != nil {
			return out, results, err
		}
		results = append(results, res)
	}
	return out, results, nil
}

// findRelease returns the release of tag: the published one by its tag,
// else a draft found by walking the release list (the by-tag endpoint
// does not return drafts).
func (p *Publisher) findRelease(ctx context.Context, tag string) (*github.RepositoryRelease, error) {
	op := fmt.Sprintf("find the GitHub release of tag %s in %s", tag, p.Repository())
	rel, _, err := p.gh.Repositories.GetReleaseByTag(ctx, p.owner, p.repo, tag)
	if err == nil {
		return rel, nil
	}
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusNotFound {
		return nil, p.apiError(err, op, PermissionContents)
	}
	lo := &github.ListOptions{PerPage: 100}
	for page := 0; page < maxReleasePages; page++ {
		rels, resp, err := p.gh.Repositories.ListReleases(ctx, p.owner, p.repo, lo)
		if err != nil {
			return nil, p.apiError(err, op, PermissionContents)
		}
		for _, r := range rels {
			if r.GetTagName() == tag {
				return r, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		lo.Page = resp.NextPage
	}
	return nil, evidence.Errorf(evidence.KindNotFound,
		"%s: there is none, published or draft; evident attaches to an existing release and creates none: create it first (e.g. `gh release create %s --draft` in an earlier step)",
		op, tag)
}

// listAssets returns a release's assets by name.
func (p *Publisher) listAssets(ctx context.Context, id int64) (map[string]*github.ReleaseAsset, error) {
	byName := map[string]*github.ReleaseAsset{}
	lo := &github.ListOptions{PerPage: 100}
	for {
		as, resp, err := p.gh.Repositories.ListReleaseAssets(ctx, p.owner, p.repo, id, lo)
		if err != nil {
			return nil, p.apiError(err, "list the release's assets", PermissionContents)
		}
		for _, a := range as {
			byName[a.GetName()] = a
		}
		if resp.NextPage == 0 {
			return byName, nil
		}
		lo.Page = resp.NextPage
	}
}

func (p *Publisher) attach(ctx context.Context, rel *github.RepositoryRelease, old *github.ReleaseAsset, a Asset, opts AttachOptions) (AssetResult, error) {
	res := AssetResult{Name: a.Name, Action: AssetUploaded}
	if old != nil {
		// GitHub leaves an asset in state "starter" when an upload broke
		// off; it is nobody's evidence.
		if old.GetState() == "uploaded" {
			same, err := p.sameContent(ctx, old, a.Data)
			if err != nil {
				return res, err
			}
			if same {
				res.Action, res.URL = AssetUnchanged, old.GetBrowserDownloadURL()
				return res, nil
			}
			if !opts.Replace {
				return res, evidence.Errorf(evidence.KindConflict,
					"release %s already has an asset %s with different content (from an earlier seal of this tag?): release evidence is never replaced silently; delete the asset, or replace it on purpose (--replace)",
					rel.GetTagName(), a.Name)
			}
			res.Action = AssetReplaced
		}
		if _, err := p.gh.Repositories.DeleteReleaseAsset(ctx, p.owner, p.repo, old.GetID()); err != nil {
			return res, p.apiError(err, "delete the old asset "+a.Name, PermissionContents)
		}
	}
	asset, err := p.upload(ctx, rel, a)
	if err != nil {
		return res, err
	}
	res.URL = asset.GetBrowserDownloadURL()
	return res, nil
}

// sameContent downloads an attached asset and compares it with data.
func (p *Publisher) sameContent(ctx context.Context, old *github.ReleaseAsset, data []byte) (bool, error) {
	if int64(old.GetSize()) != int64(len(data)) {
		return false, nil
	}
	rc, _, err := p.gh.Repositories.DownloadReleaseAsset(ctx, p.owner, p.repo, old.GetID(), p.download)
	if err != nil {
		return false, p.apiError(err, "download the attached asset "+old.GetName()+" to compare it", PermissionContents)
	}
	defer rc.Close()
	got, err := io.ReadAll(io.LimitReader(rc, int64(len(data))+1))
	if err != nil {
		return false, fmt.Errorf("download the attached asset %s: %w", old.GetName(), err)
	}
	return bytes.Equal(got, data), nil
}

// upload sends one asset to the release's upload_url, which names the
// uploads host (uploads.github.com, or GHES's /api/uploads).
func (p *Publisher) upload(ctx context.Context, rel *github.RepositoryRelease, a Asset) (*github.ReleaseAsset, error) {
	op := fmt.Sprintf("upload %s to release %s", a.Name, rel.GetTagName())
	raw, _, _ := strings.Cut(rel.GetUploadURL(), "{") // "https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}"
	if raw == "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s: the release has no upload_url", op)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s: the release's upload_url %q: %v", op, raw, err)
	}
	q := u.Query()
	q.Set("name", a.Name)
	u.RawQuery = q.Encode()
	mt := a.MediaType
	if mt == "" {
		mt = "application/octet-stream"
	}
	// A bytes.Reader lets the retrying transport send the body again.
	req, err := p.gh.NewUploadRequest(u.String(), bytes.NewReader(a.Data), int64(len(a.Data)), mt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	asset := new(github.ReleaseAsset)
	if _, err := p.gh.Do(ctx, req, asset); err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity {
			for _, e := range er.Errors {
				if e.Code == "already_exists" {
					return nil, fmt.Errorf("%s: %w", op, errAlreadyExists)
				}
			}
		}
		return nil, p.apiError(err, op, PermissionContents)
	}
	return asset, nil
}

// errAlreadyExists is an upload refused because the release has an asset
// of that name.
var errAlreadyExists = errors.New("an asset of that name already exists")
