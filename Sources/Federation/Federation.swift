/// Server-to-server federation, all pure logic (values in, decisions out): who may federate and how
/// (`Policy/`), the stream state machines for each direction (`Streams/`) with their SASL EXTERNAL
/// and dialback sub-machines (`SASL/`, `Dialback/`), finding a peer's servers in DNS (`DNS/`), and
/// the outbound link table (`Links/`). The I/O lives in `FederationLinks`.
package enum Federation {}
