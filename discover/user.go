package discover

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/bulklink/bulklink/internal/extsort"
	"github.com/bulklink/bulklink/plan"
)

// statusExternal is the status of a federated profile.
const statusExternal = string(types.UserStatusTypeExternalProvider)

// entry is what matching needs of one listed user: one record of the spill.
type entry struct {
	key      string // the match key: the email, normalised (or the --by value); "" for none
	username string
	value    string // the --by attribute's value, trimmed (the email for --by email and --duplicates)
	email    string // the email as listed, for the refused file
	status   string
	flags    uint8
	ids      []ident // the user's identities (for a profile, its own first)
}

// The flags of an entry.
const (
	native    uint8 = 1 << iota // not a federated profile
	verified                    // email_verified is true
	enabled                     // the user is enabled
	badIdents                   // its identities attribute cannot be read
)

func (e *entry) is(f uint8) bool { return e.flags&f != 0 }

// ident is an identity in a user's identities attribute.
type ident struct {
	provider, userID string
	primary          bool
}

// maxIdents bounds the identities an entry keeps: Cognito links five to a user, and a
// profile has its own besides. Those beyond are counted, up to maxCounted, as empty ones.
const (
	maxIdents  = 8
	maxCounted = 64
)

// domainOf is the domain of a normalised email: what follows its last @, or "".
func domainOf(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return email[i+1:]
}

// wireIdentity is an entry of the identities attribute, a JSON array in a string
// (docs/cognito.md, The identities attribute).
type wireIdentity struct {
	UserID       string `json:"userId"`
	ProviderName string `json:"providerName"`
	Primary      bool   `json:"primary"`
}

// parseIdentities reads an identities attribute; absent ("") is no identity.
func parseIdentities(s string) ([]ident, int, error) {
	if s == "" {
		return nil, 0, nil
	}
	var list []wireIdentity
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, 0, err
	}
	ids := make([]ident, 0, min(len(list), maxIdents))
	for _, w := range list {
		if w.ProviderName == "" || w.UserID == "" {
			return nil, 0, errors.New("an identity without provider or userId")
		}
		if len(ids) < maxIdents {
			ids = append(ids, ident{w.ProviderName, w.UserID, w.Primary})
		}
	}
	return ids, len(list), nil
}

// toEntry reduces a listed user to its entry for the query, or says that the user takes
// no part in it (keep false): a profile when native users are linked to a provider, a
// native user outside --email-domain, a user without email when duplicates are looked for.
func (q *Query) toEntry(u *types.UserType) (e entry, keep bool) {
	e.username = aws.ToString(u.Username)
	e.status = string(u.UserStatus)
	if e.status != statusExternal {
		e.flags |= native
	}
	if u.Enabled {
		e.flags |= enabled
	}
	var idents string
	var byValue *string
	for _, a := range u.Attributes {
		v := aws.ToString(a.Value)
		switch name := aws.ToString(a.Name); {
		case name == "email":
			e.email = v
		case name == "email_verified":
			if strings.EqualFold(v, "true") {
				e.flags |= verified
			}
		case name == "identities":
			idents = v
		}
		if aws.ToString(a.Name) == q.Attribute {
			byValue = aws.String(v)
		}
	}
	ids, n, err := parseIdentities(idents)
	if err != nil {
		e.flags |= badIdents
	}
	e.ids = ids
	// Keep the count (up to maxCounted): pad with identities that match no provider.
	for len(e.ids) < min(n, maxCounted) {
		e.ids = append(e.ids, ident{})
	}
	switch q.Mode {
	case ByAttribute:
		if !e.is(native) {
			return e, false
		}
		if q.byEmail() {
			e.value = plan.TrimASCII(e.email)
			e.key = plan.EmailKey(e.email)
		} else {
			if byValue != nil {
				e.value = plan.TrimASCII(*byValue)
				e.key = e.value
			}
		}
		if d := q.domain(); d != "" && domainOf(plan.EmailKey(e.email)) != d {
			return e, false
		}
		return e, true
	case Duplicates:
		e.value = plan.TrimASCII(e.email)
		e.key = plan.EmailKey(e.email)
		if e.key == "" {
			return e, false
		}
		if d := q.domain(); d != "" && domainOf(e.key) != d {
			return e, false
		}
		return e, true
	}
	return e, false
}

// identities is how many identities the user holds, those an entry dropped included.
func (e *entry) identities() int { return len(e.ids) }

// entries is the spill's record format: length-prefixed strings, a flags byte, the
// identities.
var entries = &extsort.Codec[entry]{
	Append: func(b []byte, e entry) []byte {
		for _, s := range [...]string{e.key, e.username, e.value, e.email, e.status} {
			b = appendString(b, s)
		}
		b = append(b, e.flags)
		b = binary.AppendUvarint(b, uint64(len(e.ids)))
		for _, id := range e.ids {
			b = appendString(b, id.provider)
			b = appendString(b, id.userID)
			p := byte(0)
			if id.primary {
				p = 1
			}
			b = append(b, p)
		}
		return b
	},
	Decode: func(b []byte) (entry, error) {
		d := decoder{b: b}
		e := entry{key: d.string(), username: d.string(), value: d.string(), email: d.string(), status: d.string(), flags: d.byte()}
		n := d.uvarint()
		if n > maxCounted {
			return entry{}, errors.New("discover: a damaged spill record (too many identities)")
		}
		for range n {
			e.ids = append(e.ids, ident{provider: d.string(), userID: d.string(), primary: d.byte() == 1})
		}
		if d.err || len(d.b) != 0 {
			return entry{}, errors.New("discover: a damaged spill record")
		}
		return e, nil
	},
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// order sorts entries for matching: by key, native users first, then by user (as the pool
// tells users apart: plan.UserKey), then by every other field, so that the order, and the
// files written from it, do not depend on the order the users were listed in.
func order(pool *plan.Pool) func(a, b entry) int {
	return func(a, b entry) int {
		return cmp.Or(
			strings.Compare(a.key, b.key),
			-cmp.Compare(a.flags&native, b.flags&native),
			strings.Compare(pool.User(a.username).Name, pool.User(b.username).Name),
			strings.Compare(a.username, b.username),
			strings.Compare(a.value, b.value),
			strings.Compare(a.email, b.email),
			strings.Compare(a.status, b.status),
			cmp.Compare(a.flags, b.flags),
			cmp.Compare(len(a.ids), len(b.ids)),
		)
	}
}
