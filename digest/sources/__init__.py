"""Paper sources, one module each. Each turns one day of its feed into `Paper`s."""
