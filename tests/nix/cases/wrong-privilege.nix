# A wrong value of a typed setting: the error names the option's path.
{
  services.kubefwd-daemon = {
    enable = true;
    settings.kubefwd.privilege = "always";
    profiles.dev-services.namespaces = [ "development" ];
  };
}
