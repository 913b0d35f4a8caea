package emulator

import (
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// providerUserIdentifier is the API's ProviderUserIdentifierType. None of its members is
// required by the model; the operations check what they need.
type providerUserIdentifier struct {
	ProviderName           *string
	ProviderAttributeName  *string
	ProviderAttributeValue *string
}

func (u *providerUserIdentifier) validate(v *validation, path string) {
	if u == nil {
		return
	}
	v.string(path+".providerName", u.ProviderName, shapeProviderName)
	v.string(path+".providerAttributeName", u.ProviderAttributeName, shapeString)
	v.string(path+".providerAttributeValue", u.ProviderAttributeValue, shapeString)
}

// ref returns the identifier with absent members read as empty.
func (u *providerUserIdentifier) ref() providerRef {
	if u == nil {
		return providerRef{}
	}
	return providerRef{aws.ToString(u.ProviderName), aws.ToString(u.ProviderAttributeName), aws.ToString(u.ProviderAttributeValue)}
}

// providerRef names a user by provider, attribute and value.
type providerRef struct{ provider, attribute, value string }

func (r providerRef) key() identityKey { return identityKey{r.provider, r.value} }

type adminLinkProviderForUserInput struct {
	UserPoolId      *string
	DestinationUser *providerUserIdentifier
	SourceUser      *providerUserIdentifier
}

func (in *adminLinkProviderForUserInput) poolID() string { return aws.ToString(in.UserPoolId) }

func (in *adminLinkProviderForUserInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeString)
	v.required("destinationUser", in.DestinationUser != nil)
	in.DestinationUser.validate(&v, "destinationUser")
	v.required("sourceUser", in.SourceUser != nil)
	in.SourceUser.validate(&v, "sourceUser")
	return v.err()
}

func (e *Emulator) adminLinkProviderForUser(in *adminLinkProviderForUserInput) (noOutput, error) {
	src := in.SourceUser.ref()
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, err := e.store.pool(in.poolID())
	if err != nil {
		return noOutput{}, err
	}
	prov, err := p.checkSource(src)
	if err != nil {
		return noOutput{}, err
	}
	dest := p.destination(in.DestinationUser.ref())
	if dest == nil {
		return noOutput{}, userNotFound()
	}
	now := e.clock()
	if err := e.quotas.Load().admitUser(p.id, dest.username, now); err != nil {
		return noOutput{}, err
	}
	if err := p.checkLinkable(dest, src, e.opt.Load().LegacyRepeatAnswer); err != nil {
		return noOutput{}, err
	}
	p.link(dest, prov, src, now)
	return noOutput{}, nil
}

// checkSource checks a SourceUser on its own: it must be an identity of a provider the pool
// trusts, named as that provider's type requires. It returns the provider.
func (p *pool) checkSource(src providerRef) (*provider, error) {
	if src.provider == providerCognito {
		return nil, invalidParameter(msgCognitoSource)
	}
	if utf8.RuneCountInString(src.provider+src.attribute+src.value) > 128 {
		return nil, invalidParameter(msgSourceTooLong)
	}
	if src.attribute == "" || src.value == "" {
		return nil, invalidParameter(msgSourceIncomplete)
	}
	prov := p.providers[src.provider]
	if prov == nil {
		return nil, invalidParameter(msgProviderNotFound(src.provider, p.id))
	}
	if isSocial(prov.typ) && src.attribute != attributeSubject {
		return nil, invalidParameter(msgSocialAttribute)
	}
	return prov, nil
}

// destination finds a DestinationUser: a native user by username (or sub), a federated one
// by its provider's user ID.
func (p *pool) destination(dest providerRef) *user {
	if dest.provider == providerCognito {
		return p.user(dest.value)
	}
	return p.federatedProfile(dest.key())
}

// checkLinkable checks that src may be linked to dest now.
func (p *pool) checkLinkable(dest *user, src providerRef, legacy bool) error {
	if p.links[src.key()] != nil {
		// The same answer whether src is linked to dest or to another user.
		if legacy {
			return invalidParameter(msgCognitoSource)
		}
		return invalidParameter(msgAlreadyLinked)
	}
	if p.federatedProfile(src.key()) != nil {
		return invalidParameter(msgMerging)
	}
	if len(dest.links) >= maxLinkedIdentities {
		return &apiError{codeLimitExceeded, msgTooManyIdentities(maxLinkedIdentities)}
	}
	for _, a := range p.custom {
		if _, ok := dest.attributes[a.name]; ok && !a.mutable {
			return invalidParameter(msgImmutableAttribute(a.name))
		}
	}
	return nil
}

type adminDisableProviderForUserInput struct {
	UserPoolId *string
	User       *providerUserIdentifier
}

func (in *adminDisableProviderForUserInput) poolID() string { return aws.ToString(in.UserPoolId) }

func (in *adminDisableProviderForUserInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeString)
	v.required("user", in.User != nil)
	in.User.validate(&v, "user")
	return v.err()
}

// adminDisableProviderForUser removes the link of the identity User names, which must be
// named exactly as it was linked, or by Cognito_Subject and its subject once it has signed
// in. A native user (ProviderName Cognito) is accepted and left
// as it is: the emulator does not model password sign-in.
func (e *Emulator) adminDisableProviderForUser(in *adminDisableProviderForUserInput) (noOutput, error) {
	ref := in.User.ref()
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, err := e.store.pool(in.poolID())
	if err != nil {
		return noOutput{}, err
	}
	now := e.clock()
	if ref.provider == providerCognito {
		u := p.user(ref.value)
		if u == nil {
			return noOutput{}, userNotFound()
		}
		return noOutput{}, e.quotas.Load().admitUser(p.id, u.username, now)
	}
	u := p.links[ref.key()]
	if u == nil {
		return noOutput{}, invalidParameter(msgNotLinked)
	}
	// An identity is unlinked by the attribute it was linked with, or once it has signed
	// in, by its subject (docs/emulator.md, Signed-in identities).
	i := u.linked(ref.key())
	want := u.links[i].AttributeName
	if u.links[i].Subject != "" {
		want = attributeSubject
	}
	if ref.attribute != want {
		return noOutput{}, invalidParameter(msgNotLinked)
	}
	if err := e.quotas.Load().admitUser(p.id, u.username, now); err != nil {
		return noOutput{}, err
	}
	p.unlink(u, i, now)
	return noOutput{}, nil
}
