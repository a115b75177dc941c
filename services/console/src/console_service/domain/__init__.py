"""What the console decides by itself, without I/O: sessions and their expiry, who sees which
pages, placement files turned into rows, times shown in a zone, verification inputs."""
