# NixOS: the two-user sudo rule, with the helper installed without the credential broker.
{
  imports = [ ./nixos-users.nix ];
  services.kubefwd-daemon.kubeconfigAsIs = true;
}
