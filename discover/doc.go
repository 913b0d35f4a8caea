// Package discover builds a link list from a user pool itself: bulklink discover. It reads
// the pool with ListUsers, keeps of each user what matching needs, matches users by email
// (or by a mapped attribute), and writes an input that run and validate take unchanged,
// beside a refused file with a row and a code for every candidate it would not emit.
//
// Two kinds of rows (Query.Mode):
//
//   - ByAttribute (--provider P --by ATTR): every native user, linked to P's identity whose
//     mapped attribute ATTR has the user's value (source_attribute=ATTR, source_value=the
//     value). P must be a SAML or OIDC provider of the pool with ATTR in its attribute
//     mapping, as run's trust checks require.
//   - Duplicates (--duplicates): every federated profile (<Provider>_<id>, status
//     EXTERNAL_PROVIDER) whose email is one native user's, linked to that user by the
//     profile's subject (Cognito_Subject).
//
// Matching is safe by default (docs/discover.md says why each rule exists): emails are
// compared after trimming ASCII white space and folding ASCII case only (a Unicode case
// mapping would make the Kelvin sign match a k), both sides need email_verified true,
// exactly one native user may have the email, the destination must be enabled, in a status
// that can sign in, and have room for the link under Cognito's five identities. Each
// candidate refused gets the code of the first rule it breaks (schema.Refusals).
//
// Bounded memory and resume. Each page of ListUsers (60 users, through call.Do: paced in
// the UserList category, retried, classified) is reduced to one record a user and appended
// to a spill file beside the output; the pagination token and the spill's length are
// committed to a state file, in an order that survives a crash at any step (the spill synced,
// then the state replaced atomically). The same command continues from the last commit:
// the spill is cut back to its committed length and the listing goes on from the committed
// token. Once the listing is done, the spill is sorted on disk by the match key (package
// extsort, as the plan sorts its tuples) and read back twice per group of one key, once to
// judge it and once to write its rows, so that no group, however large, is held in memory.
// The output and the refused file are written to .partial files, synced and renamed into
// place: they are in the sorted order, so that a resumed discover writes the same bytes as
// an uninterrupted one, whatever order Cognito listed the users in.
//
// Hand-written here: the matching rules (they are the product), the spill's record format
// (a few length-prefixed strings a user, read back by the sort), and the writers of the two
// files, which are an input's columns rather than a report's. The sort is package extsort's,
// the calls package call's, the file safety package report's.
package discover
