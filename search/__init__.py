"""Search: Vietnamese text normalisation and (later) the Whoosh index."""
