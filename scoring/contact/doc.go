// Package contact decides whether a collection contact may be made on a
// channel at an instant, and when the next permitted instant is. Rules are
// evaluated in the customer's own IANA time zone (Account.TimeZone); all
// instants in and out are UTC-comparable time.Time values.
//
// Defaults follow the US CFPB's Regulation F where it speaks (12 CFR 1006):
// no contact before 8:00 or after 21:00 local time (§1006.6(b)(1)(i)), and
// at most seven call attempts within seven days and none within seven days
// after a telephone conversation about the debt (§1006.14(b)(2)). Consent is
// per channel (an opted-out channel is never used) and an address that
// bounced is not used again until a later contact on it was delivered.
// These are product defaults, not legal advice; every value is configurable.
//
// The package is pure logic: it imports data and the standard library only.
package contact
