// Package arca holds the domain vocabulary of Arca, a self-hosted service that
// speaks the Azure Key Vault REST API: vaults, secrets, principals, errors and
// the clock. It imports only the standard library.
//
// # Layout
//
// Services (secrets, vaults, identity) implement the behaviour over a
// storage.Backend that cmd/arca wraps in the encryption barrier. The rest
// package is the only place that knows HTTP; cmd/arca wires everything by hand.
package arca
