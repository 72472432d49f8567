# RFC 42 settings: the YAML's own keys, typed where it matters, freeform elsewhere; profiles from both places.
{
  services.kubefwd-daemon = {
    enable = true;
    kubefwdPackage = null;
    settings = {
      daemon.log_level = "debug";
      kubefwd = { privilege = "sudo"; extra_args = [ "-v" ]; stop_timeout = "20s"; };
      defaults.retry = { max_delay = "30s"; jitter = 0.2; };
      defaults.health.failure_threshold = 3;
      profiles.staging = { namespaces = [ "web" ]; enabled = false; };
    };
    profiles.dev-services = {
      namespaces = [ "development" ];
      context = "dev-cluster";
      exclude_services = [ "legacy-*" ];
      retry.max_delay = "10s";
    };
  };
}
