package job_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/call"
)

// fakeCognito is an in-memory Cognito for the pool-level tests, which run on a fake clock
// (testing/synctest), where the emulator's sockets cannot go. It links, unlinks and reads
// users, each call taking latency, and answers an error instead when fail says so. The
// engine's behaviour over real HTTP is tested against the emulator (job_test.go); this fake
// only lets the pool's timing be tested without sleeping.
type fakeCognito struct {
	call.Cognito // the operations the pool tests do not use: calling one panics
	latency      time.Duration
	fail         func(n int, source string) error // the n-th link call, for source; nil: none fails

	mu    sync.Mutex
	calls int
	order []string                    // sources of the link calls applied, in order
	links map[string]map[string]int64 // username → source value → dateCreated (ms)
}

func newFake(latency time.Duration) *fakeCognito {
	return &fakeCognito{latency: latency, links: map[string]map[string]int64{}}
}

func (f *fakeCognito) wait(ctx context.Context) error {
	t := time.NewTimer(f.latency)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return &net1Error{ctx.Err()}
	}
}

// net1Error is a call cut by its context, as the SDK reports it.
type net1Error struct{ err error }

func (e *net1Error) Error() string { return "request canceled: " + e.err.Error() }
func (e *net1Error) Unwrap() error { return e.err }

func (f *fakeCognito) AdminLinkProviderForUser(ctx context.Context, in *cip.AdminLinkProviderForUserInput, _ ...func(*cip.Options)) (*cip.AdminLinkProviderForUserOutput, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	user, src := aws.ToString(in.DestinationUser.ProviderAttributeValue), aws.ToString(in.SourceUser.ProviderAttributeValue)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		if err := f.fail(f.calls, src); err != nil {
			return nil, err
		}
	}
	if _, ok := f.links[user][src]; ok {
		return nil, &types.InvalidParameterException{Message: aws.String("SourceUser is already linked to DestinationUser")}
	}
	if f.links[user] == nil {
		f.links[user] = map[string]int64{}
	}
	f.links[user][src] = time.Now().UnixMilli()
	f.order = append(f.order, src)
	return &cip.AdminLinkProviderForUserOutput{}, nil
}

func (f *fakeCognito) AdminDisableProviderForUser(ctx context.Context, in *cip.AdminDisableProviderForUserInput, _ ...func(*cip.Options)) (*cip.AdminDisableProviderForUserOutput, error) {
	return nil, errors.New("fakeCognito: unlink is tested against the emulator")
}

func (f *fakeCognito) AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, _ ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	user := aws.ToString(in.Username)
	type identity struct {
		UserID       string `json:"userId"`
		ProviderName string `json:"providerName"`
		DateCreated  int64  `json:"dateCreated"`
	}
	var ids []identity
	for src, date := range f.links[user] {
		ids = append(ids, identity{src, "Google", date})
	}
	b, _ := json.Marshal(ids)
	return &cip.AdminGetUserOutput{Username: aws.String(user), UserAttributes: []types.AttributeType{{Name: aws.String("identities"), Value: aws.String(string(b))}}}, nil
}

// link adds a link made before the test, at date.
func (f *fakeCognito) link(user, src string, date time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.links[user] == nil {
		f.links[user] = map[string]int64{}
	}
	f.links[user][src] = date.UnixMilli()
}

func (f *fakeCognito) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}
