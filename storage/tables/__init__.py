"""The tables, one module per subject; ``storage.models`` gathers them."""
