/// Server-to-server federation: who may federate and how (`Policy/`), server dialback (`Dialback/`),
/// finding a peer's servers in DNS (`DNS/`). Protocol logic here is pure: values in, decisions out.
public enum Federation {}
