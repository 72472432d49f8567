# NixOS: kubeconfigAsIs without sudoRule (an assertion must refuse it: there is no helper to change).
{
  imports = [ ./example.nix ];
  services.kubefwd-daemon.kubeconfigAsIs = true;
}
