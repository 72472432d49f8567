# NixOS: the example for two users, with the sudo rule and a writable /etc/hosts.
{
  imports = [ ./example.nix ];
  services.kubefwd-daemon = {
    users = [ "alice" "bob" ];
    sudoRule = true;
    writableHostsFile = true;
  };
}
