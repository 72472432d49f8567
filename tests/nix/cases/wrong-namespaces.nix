# A wrong type in a profile: the error names the option's path.
{
  services.kubefwd-daemon = { enable = true; profiles.dev-services.namespaces = "development"; };
}
