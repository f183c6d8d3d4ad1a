# Install rules for conf/, systemd/ and man pages (owned by the packaging work).
