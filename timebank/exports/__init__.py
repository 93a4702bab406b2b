"""Long exports written by the job queue into the instance folder, then downloaded by whoever asked for them."""
